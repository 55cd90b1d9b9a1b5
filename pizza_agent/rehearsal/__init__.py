"""Rehearsal tools: the misbehaving provider, the outage drill, the stand-ins, the agent-subprocess helper.

They exercise the agent from outside; nothing that runs at the event imports them.
"""
