"""The chat protocol's handlers: a ChatMessage in, a conversation call, the reply back out.

This is all the transport does. The agent itself (uagents, with its
workarounds) and everything the handlers are handed are built by the
composition root (app/composition.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

from uagents import Context, Protocol
from uagents_core.contrib.protocols.chat import (
    ChatAcknowledgement,
    ChatMessage,
    EndSessionContent,
    Resource,
    ResourceContent,
    StartSessionContent,
    TextContent,
    chat_protocol_spec,
)

from pizza_agent.domain.reply import Reply, sender_id
from pizza_agent.event.conversation import Conversation
from pizza_agent.event.rate_limit import Admit
from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.transport.cards import Cards
from pizza_agent.transport.handled import HandledMessages

log = logging.getLogger("pizza.agent")

HandledListener = Callable[[str, object], None]


def build_chat_protocol(
    conversation: Conversation,
    seen: HandledMessages,
    reply_times: ReplyTimes,
    *,
    coupon_image: Callable[[str], str] | None = None,
    handled_listeners: list[HandledListener] | None = None,
    card_key: bytes,
) -> Protocol:
    """The chat handlers. `coupon_image(code)` gives a data: URI sent with a coupon (None: text only);
    `handled_listeners` hear (sender, msg_id) when a message is done with (the mailbox deletes it then);
    `card_key` keys the ids of the cards sent (transport/cards.py)."""
    listeners = handled_listeners if handled_listeners is not None else []  # shared: filled in later
    handlers = ChatHandlers(conversation, seen, reply_times, coupon_image, listeners, Cards(card_key, coupon_image))
    protocol = Protocol(spec=chat_protocol_spec)

    @protocol.on_message(ChatMessage)
    async def on_chat(ctx: Context, sender: str, msg: ChatMessage) -> None:
        await handlers.on_chat(ctx, sender, msg)

    @protocol.on_message(ChatAcknowledgement)
    async def on_ack(ctx: Context, sender: str, msg: ChatAcknowledgement) -> None:
        log.debug("ack from %s for %s", sender_id(sender), msg.acknowledged_msg_id)

    return protocol


class ChatHandlers:
    def __init__(
        self,
        conversation: Conversation,
        seen: HandledMessages,
        reply_times: ReplyTimes,
        coupon_image: Callable[[str], str] | None,
        handled_listeners: list[HandledListener],
        cards: Cards,
    ) -> None:
        self.conversation = conversation
        self.seen = seen
        self.reply_times = reply_times
        self.coupon_image = coupon_image
        self.handled_listeners = handled_listeners
        self.cards = cards
        self._acks_in_flight: set[asyncio.Task] = set()

    async def on_chat(self, ctx: Context, sender: str, msg: ChatMessage) -> None:
        try:
            await self._handle(ctx, sender, msg)
        finally:
            await self.seen.recorded()  # the answered id is in the ledger before the mailbox item goes
            for listener in self.handled_listeners:  # e.g. the mailbox client deletes the item now
                listener(sender, msg.msg_id)

    async def _handle(self, ctx: Context, sender: str, msg: ChatMessage) -> None:
        started = time.perf_counter()
        admit = self._admit(sender, str(ctx.session), msg)
        if admit is Admit.DROP:  # a flood past its one warning costs no ack, no reply, no LLM call
            return
        self._acknowledge(ctx, sender, msg)
        if not await self.seen.first_time(sender, msg.msg_id):
            log.info("message sender=%s outcome=duplicate_msg_id (acknowledged, not handled again)", sender_id(sender))
            return
        if any(isinstance(part, StartSessionContent) for part in msg.content):
            await self._session_opened(sender, str(ctx.session))
        session = str(ctx.session)
        answer = self.cards.answer(msg, sender, session)  # a card answered: the text a person would type
        if answer is not None and answer.refusal is not None:
            log.warning("message sender=%s outcome=card_refused: %s", sender_id(sender), answer.refusal)
            await ctx.send(sender, ChatMessage(content=[TextContent(text=answer.refusal)]))
            self.seen.answered(sender, msg.msg_id)
            return
        if answer is None and not any(isinstance(part, TextContent) for part in msg.content):
            # ASI:One opens a session with a message of no text (start-session, metadata): acknowledge only.
            kinds = ",".join(sorted({type(part).__name__ for part in msg.content})) or "empty"
            log.info(
                "message sender=%s outcome=no_text (%s): acknowledged, nothing to answer", sender_id(sender), kinds
            )
            self.seen.answered(sender, msg.msg_id)
            return
        text = answer.text if answer is not None and answer.text is not None else msg.text()
        reply = await self._reply_to(sender, session, text, admit, typed=answer is None)
        status = await ctx.send(sender, ChatMessage(content=self._contents(reply, sender, session)))
        self.seen.answered(sender, msg.msg_id)
        self.reply_times.record(time.perf_counter() - started)
        layers = ",".join(f"{step}:{layer}" for step, layer in reply.layers.items()) or "-"
        log.info(
            "message sender=%s intent=%s layers=%s outcome=%s delivered=%s latency_ms=%.0f",
            sender_id(sender),
            reply.intent,
            layers,
            reply.outcome,
            getattr(status.status, "value", status.status),
            (time.perf_counter() - started) * 1000,
        )

    def _admit(self, sender: str, session: str, msg: ChatMessage) -> Admit:
        """The rate limit before any work, per chat (event/rate_limit.py); organizers are exempt.

        Asked here rather than through `Conversation.admit(sender)`, which knows no chat session:
        ten people behind one platform address, each in their own chat, are not one person."""
        conversation = self.conversation
        if sender in conversation.organizer.addresses:
            return Admit.OK
        limiter = conversation.limiter
        opens = any(isinstance(part, StartSessionContent) for part in msg.content)
        decision = limiter.check(sender, session, opens_session=opens)
        if decision is Admit.SLOW_DOWN:
            log.warning(
                "rate limited sender=%s (more than %d messages in one chat, or %d in all its chats)",
                sender_id(sender),
                limiter.limit,
                limiter.ceiling,
            )
        return decision

    async def _session_opened(self, sender: str, session: str) -> None:
        """A client that opens chat sessions (ASI:One) may speak for many people: roster mode notes it."""
        try:
            await self.conversation.people.open_session(sender, session)
        except Exception:  # a note for the identity rule: never worth a lost message
            log.exception("could not note the session sender=%s opened", sender_id(sender))

    def _acknowledge(self, ctx: Context, sender: str, msg: ChatMessage) -> None:
        """The acknowledgement goes first, but its delivery (a round trip to Agentverse) does not hold the reply."""
        ack = asyncio.get_running_loop().create_task(
            ctx.send(sender, ChatAcknowledgement(acknowledged_msg_id=msg.msg_id))
        )
        self._acks_in_flight.add(ack)
        ack.add_done_callback(self._acks_in_flight.discard)

    async def _reply_to(self, sender: str, session: str, text: str, admit: Admit, *, typed: bool = True) -> Reply:
        """`typed`: False for a card's answer, whose (English) text says nothing about the person's language."""
        conversation = self.conversation
        try:
            if admit is Admit.SLOW_DOWN:
                return conversation.slow_down(text)
            return await conversation.handle(sender, text, session, typed=typed)
        except Exception:  # a bug must cost one reply, never the agent
            log.exception("message sender=%s outcome=internal_error", sender_id(sender))
            return conversation.internal_error(text)

    def _contents(self, reply: Reply, sender: str, session: str) -> list:
        contents: list = [TextContent(text=reply.text)]
        for card in reply.cards:  # for clients that render cards; the text above says the same
            contents.append(self.cards.content(card, sender, session))
        if reply.code and self.coupon_image is not None:
            # The code as a QR image, so the food table can scan the phone screen (a data: URI:
            # the agent makes no outbound call for it, and the participant's client needs none).
            resource = Resource(
                uri=self.coupon_image(reply.code), metadata={"mime_type": "image/png", "role": "coupon-qr"}
            )
            contents.append(ResourceContent(type="resource", resource_id=uuid.uuid4(), resource=resource))
        if reply.end_session:
            contents.append(EndSessionContent())
        return contents
