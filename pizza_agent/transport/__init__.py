"""The chat transport: ChatMessages in, conversation calls, replies (with a coupon's QR) out.

`chat_handlers.py` turns each message into one `Conversation.handle` call and
the reply into chat content; `handled.py` makes a message id handled once,
across restarts and replicas. Everything else about the agent is built by
the composition root (app/composition.py).
"""
