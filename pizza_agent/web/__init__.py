"""The organizer's dashboard, the food-table page and /metrics, served by the agent process."""
