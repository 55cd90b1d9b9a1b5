"""The participant's side of the chat protocol on loopback: signed envelopes out, replies in.

`chat.py` (an organizer's or participant's terminal), the tests and the drill
talk to a real agent through it, exactly as another uAgents agent would.
"""
