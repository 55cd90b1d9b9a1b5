"""The command lines people run (`agent.py`, `chat.py`) and the agent's logging.

May import: every room but pizza_agent.rehearsal.
"""
