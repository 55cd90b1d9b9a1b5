"""What runs the event: the conversation (prompt, story → score → tier → coupon), organizer
commands, the per-sender rate limit, and the runtime (seed, signer, ledger) it all needs.

Independent of uAgents. May import: pizza_agent.config, pizza_agent.llm, pizza_agent.ledger.
"""
