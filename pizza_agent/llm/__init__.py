"""The LLM layer: errors, provider health, the one fallback chain, providers, tasks, static layer.

OpenAI → ASI1 → static for intent, prompts and replies; ASI1 → heuristic for scores.
May import: pizza_agent.config.
"""
