"""What runs the event: the conversation (prompt, story → score → tier → coupon), organizer
commands, the per-sender rate limit, re-scoring, spend kept across restarts, and the runtime
(seed, signer, ledger) it all needs. Independent of uAgents.
"""
