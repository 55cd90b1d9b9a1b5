"""The coupon ledger (exactly one coupon per participant, crash-safe) and signed coupon codes.

May import: pizza_agent.config, pizza_agent.llm.static_layer (tier names).
"""
