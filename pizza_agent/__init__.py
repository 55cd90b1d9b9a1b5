"""Pizza Agent: a resilient uAgents chat agent that trades short stories for pizza coupons.

Rooms, each a sub-package with one concern (docs/architecture.md draws them):

- `config`      settings and secret files; imports nothing of ours.
- `llm`         providers, health, the one fallback chain, tasks, static layer; imports config.
- `ledger`      the coupon ledger and signed codes; imports config and llm.static_layer (the tier names).
- `event`       the conversation, rate limit and the runtime it needs; imports config, llm, ledger.
- `workarounds` every uagents 0.26.1 workaround; imports no room of ours but config.
- `transport`   the uAgents agent and the loopback participant client; imports the rooms above.
- `app`         the command lines (agent.py, chat.py) and logging; imports every room but rehearsal.
- `rehearsal`   fault provider, drill, agent subprocess helper: for rehearsing the event,
                never imported by anything that runs at the event.

The top-level `agent.py`, `chat.py`, `openai_functions.py` and `asi1_client.py`
are thin public faces over these rooms; nothing in the package imports them.
"""
