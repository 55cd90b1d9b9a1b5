"""The composition root and the command lines people run (`agent.py`, `chat.py`), with the agent's logging.

`composition.py` builds every component and registers every resource in start
order; `cli.py` and `chat_cli.py` are thin layers over it and the rooms.
"""
