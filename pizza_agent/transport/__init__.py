"""uAgents transport: the agent and its chat-protocol handlers, and the loopback participant client.

May import: pizza_agent.config, pizza_agent.llm, pizza_agent.ledger, pizza_agent.event,
pizza_agent.workarounds.
"""
