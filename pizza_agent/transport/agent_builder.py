"""Builds the uAgents agent: chat protocol handlers over the conversation, mode-specific wiring.

Kept apart from the command line so verify, redeem and --check-config start
without importing uagents.
May import: pizza_agent.config, pizza_agent.llm, pizza_agent.event, pizza_agent.workarounds.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import uagents.asgi
from uagents import Agent, Context, Protocol
from uagents.experimental.health import HealthProtocol
from uagents_core.contrib.protocols.chat import (
    ChatAcknowledgement,
    ChatMessage,
    EndSessionContent,
    Resource,
    ResourceContent,
    TextContent,
    chat_protocol_spec,
)

from pizza_agent.config.data_dir import write_agent_info
from pizza_agent.config.settings import AgentMode, Settings
from pizza_agent.event.conversation import Conversation
from pizza_agent.event.rate_limit import Admit
from pizza_agent.event.reply import Reply, sender_id
from pizza_agent.event.runtime import Runtime
from pizza_agent.event.spend_book import SAVE_SECONDS, SpendBook
from pizza_agent.ledger.leadership import ActiveLease
from pizza_agent.ledger.notifications import ControlsListener
from pizza_agent.llm import public_api
from pizza_agent.llm.service import LLMService
from pizza_agent.llm.static_layer import StaticContent
from pizza_agent.transport.handled import HandledMessages
from pizza_agent.web.qr import qr_data_uri
from pizza_agent.web.server import WebApp
from pizza_agent.workarounds.fast_crypto import use_libsecp256k1
from pizza_agent.workarounds.mailbox import (
    AlmanacCache,
    FastMailboxClient,
    connect_mailbox,
    keep_local_server,
    prepare_agentverse,
)
from pizza_agent.workarounds.uagents_compat import (
    ConcurrentDispenser,
    GuardedASGIServer,
    LocalPeerResolver,
    NoRegistration,
    OfflineAgent,
    RobustDispatch,
    patch_validation_error,
    prepare_offline,
    route_framework_logs,
)

log = logging.getLogger("pizza.agent")

# Handlers still running at Ctrl+C get this long before they are cancelled.
SHUTDOWN_GRACE_SECONDS = 0.5
# How often a WARNING sums up the messages dropped by the rate limit since the last one.
DROPPED_REPORT_SECONDS = 60.0
# How often stories the heuristic scored are offered to ASI1 again (when it answers).
RESCORE_SECONDS = 10.0


def build_chat_protocol(
    conversation: Conversation,
    seen: HandledMessages,
    *,
    coupon_qr: bool = True,
    handled_listeners: list[Callable[[str, object], None]] | None = None,
) -> Protocol:
    """The chat handlers. `handled_listeners` hear (sender, msg_id) when a message is done with."""
    handled_listeners = handled_listeners if handled_listeners is not None else []
    protocol = Protocol(spec=chat_protocol_spec)
    acks_in_flight: set[asyncio.Task] = set()

    @protocol.on_message(ChatMessage)
    async def on_chat(ctx: Context, sender: str, msg: ChatMessage) -> None:
        try:
            await handle_chat(ctx, sender, msg)
        finally:
            await seen.recorded()  # the answered id is in the ledger before the mailbox item goes
            for listener in handled_listeners:  # e.g. the mailbox client deletes the item now
                listener(sender, msg.msg_id)

    async def handle_chat(ctx: Context, sender: str, msg: ChatMessage) -> None:
        started = time.perf_counter()
        admit = conversation.admit(sender)
        if admit is Admit.DROP:  # a flood past its one warning costs no ack, no reply, no LLM call
            return
        # The acknowledgement goes first, but its delivery (a round trip to Agentverse) does not hold the reply.
        ack = asyncio.get_running_loop().create_task(
            ctx.send(sender, ChatAcknowledgement(acknowledged_msg_id=msg.msg_id))
        )
        acks_in_flight.add(ack)
        ack.add_done_callback(acks_in_flight.discard)
        if not await seen.first_time(sender, msg.msg_id):
            log.info("message sender=%s outcome=duplicate_msg_id (acknowledged, not handled again)", sender_id(sender))
            return
        if not any(isinstance(part, TextContent) for part in msg.content):
            # ASI:One opens a session with a message of no text (start-session, metadata): acknowledge only.
            kinds = ",".join(sorted({type(part).__name__ for part in msg.content})) or "empty"
            log.info(
                "message sender=%s outcome=no_text (%s): acknowledged, nothing to answer", sender_id(sender), kinds
            )
            seen.answered(sender, msg.msg_id)
            return
        try:
            reply = (
                conversation.slow_down() if admit is Admit.SLOW_DOWN else await conversation.handle(sender, msg.text())
            )
        except Exception:  # a bug must cost one reply, never the agent
            log.exception("message sender=%s outcome=internal_error", sender_id(sender))
            reply = Reply(conversation.content.message("internal_error"), "internal_error")
        contents: list = [TextContent(text=reply.text)]
        if reply.code and coupon_qr:
            # The code as a QR image, so the food table can scan the phone screen (a data: URI:
            # the agent makes no outbound call for it, and the participant's client needs none).
            contents.append(
                ResourceContent(
                    type="resource",
                    resource_id=uuid.uuid4(),
                    resource=Resource(
                        uri=qr_data_uri(reply.code), metadata={"mime_type": "image/png", "role": "coupon-qr"}
                    ),
                )
            )
        if reply.end_session:
            contents.append(EndSessionContent())
        status = await ctx.send(sender, ChatMessage(content=contents))
        seen.answered(sender, msg.msg_id)
        conversation.reply_times.record(time.perf_counter() - started)
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

    @protocol.on_message(ChatAcknowledgement)
    async def on_ack(ctx: Context, sender: str, msg: ChatAcknowledgement) -> None:
        log.debug("ack from %s for %s", sender_id(sender), msg.acknowledged_msg_id)

    return protocol


def _construct(settings: Settings, seed: str) -> Agent:
    common = {
        "name": settings.agent_name,
        "seed": seed,
        "port": settings.agent_port,
        "handle_messages_concurrently": True,  # defect 3: LLM-calling handlers must not queue
        "shutdown_timeout": SHUTDOWN_GRACE_SECONDS,
        "log_level": settings.log_level,
    }
    if settings.agent_mode is AgentMode.LOCAL:
        prepare_offline()
        uagents.asgi.HOST = settings.agent_host
        return OfflineAgent(
            **common,
            endpoint=[f"http://{settings.agent_host}:{settings.agent_port}/submit"],
            resolve=LocalPeerResolver(settings.peers_dir),
            registration_policy=NoRegistration(),
            enable_agent_inspector=False,
            mark_inactive_on_shutdown=False,
            report_events=False,
            publish_agent_details=False,
        )
    # Agentverse mode: every Almanac, mailbox and registration call goes to AGENTVERSE_URL (9c).
    prepare_agentverse()
    agent = RobustDispatch(
        **common,
        mailbox=True,
        agentverse=settings.agentverse_url,
        resolve=AlmanacCache(f"{settings.agentverse_url}/v1/almanac"),  # 9b: cached until expiry
        publish_agent_details=True,
        readme_path=str(settings.agent_readme),  # the participant-facing readme, not the developers'
        handle=settings.agent_handle,
        description=settings.agent_description,
        enable_agent_inspector=inspector_wanted(settings),
    )
    keep_local_server(agent)  # 9e
    if settings.mailbox_client == "fast":  # 9a; "framework" keeps uagents' own, for comparison
        agent._mailbox_client = FastMailboxClient(  # type: ignore[attr-defined]
            agent._identity,  # type: ignore[attr-defined]
            agent._agentverse,  # type: ignore[attr-defined]
            agent._logger,  # type: ignore[attr-defined]
        )
    return agent


def join_replicas(settings: Settings, agent: Agent, conversation: Conversation) -> ActiveLease:
    """Replicas on one PostgreSQL: one is active (polls the mailbox, or accepts on its local endpoint),
    and each hears the organizer's switches flipped on any of them (LISTEN/NOTIFY).

    In local mode each replica lists every live replica's endpoint in the shared
    DATA_DIR/agent.json (the active one first) and a standby refuses messages with
    503, so a sender goes on to the next endpoint: the note on several endpoints per address.
    """
    local = settings.agent_mode is AgentMode.LOCAL
    endpoint = f"http://{settings.agent_host}:{settings.agent_port}/submit" if local else ""
    llm = conversation.llm
    lease = ActiveLease(
        settings.ledger_url.get_secret_value(),
        settings.replica,
        settings.failover_seconds,
        breakers={"openai": llm.openai_health, "asi1": llm.asi1_health},
        endpoint=endpoint,
        serves="endpoint" if local else "mailbox",
    )
    conversation.organizer.replicas = lease.replicas
    lease.on_takeover.append(conversation.controls.refresh)
    if local:
        agent._server.may_serve = lease.is_active  # type: ignore[attr-defined]

        def list_endpoints(endpoints: list[str]) -> None:
            info = {
                "address": agent.address,
                "endpoint": endpoints[0],
                "endpoints": endpoints,
                "port": settings.agent_port,
            }
            write_agent_info(settings.agent_info_path, info)

        lease.on_endpoints.append(list_endpoints)

    # Every replica serves its own dashboard: a switch flipped on any of them reaches all of them.
    listener = ControlsListener(settings.ledger_url.get_secret_value(), conversation.controls.refresh)

    @agent.on_event("startup")
    async def start_replica(ctx: Context) -> None:
        await lease.start()
        await listener.start()

    @agent.on_event("shutdown")
    async def stop_replica(ctx: Context) -> None:
        await lease.stop()
        await listener.stop()

    return lease


def inspector_wanted(settings: Settings) -> bool:
    """The inspector is how an organizer connects the mailbox by hand; with an API key the agent does it itself."""
    if settings.agent_inspector == "auto":
        return not settings.agentverse_api_key.get_secret_value()
    return settings.agent_inspector == "on"


def agentverse_origin(settings: Settings) -> str | None:
    """The one origin allowed to call the inspector from a browser (Agentverse's own pages)."""
    if settings.agent_mode is not AgentMode.AGENTVERSE:
        return None
    parts = urlsplit(settings.agentverse_url)
    return f"{parts.scheme}://{parts.netloc}"


def build_agent(runtime: Runtime, content: StaticContent) -> Agent:
    settings = runtime.settings
    background: set[asyncio.Task[None]] = set()
    patch_validation_error()
    use_libsecp256k1()  # defect 16: envelope signatures 3-7x faster
    route_framework_logs()
    agent = _construct(settings, runtime.seed)
    agent._dispenser = ConcurrentDispenser(settings.send_timeout)  # type: ignore[attr-defined]  # defect 2
    GuardedASGIServer.replace_in(agent, settings.message_max_bytes, agentverse_origin(settings))  # defects 5-7, 10-14

    llm = LLMService(settings, content=content)
    public_api.configure(llm)  # the public API and the agent share one service
    conversation = Conversation(settings, llm, runtime.ledger, runtime.signer)
    # Local mode makes no outbound call at all, so the manifest is published only on Agentverse.
    seen = HandledMessages(conversation.db)
    handled_listeners: list[Callable[[str, object], None]] = []
    chat = build_chat_protocol(conversation, seen, coupon_qr=settings.coupon_qr, handled_listeners=handled_listeners)
    agent.include(chat, publish_manifest=settings.agent_mode is AgentMode.AGENTVERSE)

    @agent.on_interval(period=DROPPED_REPORT_SECONDS)
    async def report_dropped(ctx: Context) -> None:
        report = conversation.limiter.drop_report(DROPPED_REPORT_SECONDS)
        if report:
            log.warning(report)

    spend_book = SpendBook(llm.spend, conversation.db)

    @agent.on_event("startup")
    async def load_spend(ctx: Context) -> None:
        await spend_book.load()  # a budget spent before a restart stays spent

    @agent.on_interval(period=SAVE_SECONDS)
    async def save_spend(ctx: Context) -> None:
        await spend_book.save()

    lease = join_replicas(settings, agent, conversation) if settings.ledger_url.get_secret_value() else None
    if lease is not None:

        async def spend_so_far() -> None:
            await spend_book.save()
            await spend_book.load()  # with what the replica before this one spent

        lease.on_takeover.append(spend_so_far)

    @agent.on_interval(period=RESCORE_SECONDS)
    async def rescore(ctx: Context) -> None:
        if lease is not None and not lease.is_active():
            return  # a standby calls no provider: one replica keeps the breakers' discipline

        async def notify(address: str, text: str) -> None:
            await ctx.send(address, ChatMessage(content=[TextContent(text=text)]))

        try:
            await conversation.rescorer.run_once(notify)
        except Exception:  # a bug here must never stop the agent
            log.exception("re-scoring failed; it will be tried again")

    if settings.agent_mode is AgentMode.AGENTVERSE:
        agent.include(
            HealthProtocol(agent_name=settings.agent_name, check=lambda ctx: runtime.ledger.identity_ok()),
            publish_manifest=True,
        )
        mailbox = agent.mailbox_client
        if isinstance(mailbox, FastMailboxClient):
            server = agent._server  # type: ignore[attr-defined]
            handled_listeners.append(mailbox.handled)
            if lease is not None:
                mailbox.may_poll = lease.is_active  # one replica polls the mailbox, the others stand by

            @agent.on_event("startup")
            async def watch_mailbox(ctx: Context) -> None:
                async def connected() -> None:
                    await mailbox.connected.wait()
                    server.mailbox_connected = True  # the inspector's /connect is closed from now on

                ctx_task = asyncio.get_running_loop().create_task(connected())
                background.add(ctx_task)

        api_key = settings.agentverse_api_key.get_secret_value()
        if api_key:

            @agent.on_event("startup")
            async def connect(ctx: Context) -> None:
                await connect_mailbox(agent, api_key)

    web_app: list[WebApp] = []
    if settings.dashboard_token.get_secret_value():

        @agent.on_event("startup")
        async def start_dashboard(ctx: Context) -> None:
            try:
                web_app.append(await WebApp(settings, conversation).start())
            except OSError as exc:  # the port is taken: the event goes on without the dashboard
                log.error("the dashboard could not start on port %d: %s", settings.dashboard_port, exc.strerror)

    @agent.on_event("shutdown")
    async def close_clients(ctx: Context) -> None:
        for app in web_app:
            await app.stop()
        await seen.flush()
        await spend_book.save()
        await llm.aclose()
        await agent._dispenser.aclose()  # type: ignore[attr-defined]
        resolver = getattr(agent, "_resolver", None)
        if isinstance(resolver, AlmanacCache):
            await resolver.aclose()

    return agent
