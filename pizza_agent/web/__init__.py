"""The web room: the organizer's dashboard, the food-table page and /metrics, served by the agent process.

May import: pizza_agent.config, pizza_agent.llm, pizza_agent.ledger, pizza_agent.event.
"""
