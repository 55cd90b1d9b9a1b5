"""Configuration: settings read once from the environment and `.env`, secret files kept 0600."""
