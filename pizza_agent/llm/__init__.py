"""The LLM layer: errors, provider health, the one fallback chain, providers, tasks, the heuristic scorer.

OpenAI → ASI1 → static for intent, prompts and replies; ASI1 → heuristic for scores.
"""
