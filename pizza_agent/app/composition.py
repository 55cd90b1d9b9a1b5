"""The composition root: the one place that builds every component and hands each what it needs.

Nothing else knows how the pieces fit. `assemble_event` builds the event's
parts over one ledger worker (tests use it too); `compose_agent` adds the
uAgents agent, the chat handlers and every resource with a life of its own
(`Resources`, modelled on aiohttp's `cleanup_ctx`): each is one async
generator — set up, `yield`, tear down — registered in the order it must
start; shutdown runs in the reverse order, and a start that fails tears down
what had already started.

Start order (stop is the reverse): provider clients → the framework's clients
→ spend book → handled message ids → replicas (lease, switches' listener) →
mailbox connection → dashboard. docs/architecture.md draws it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from uagents import Agent, Context
from uagents.experimental.health import HealthProtocol
from uagents_core.contrib.protocols.chat import ChatMessage, TextContent

from pizza_agent.config.data_dir import write_agent_info
from pizza_agent.config.settings import AgentMode, Settings
from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.identity import Chat
from pizza_agent.event.alerts import Alerts
from pizza_agent.event.controls import Controls
from pizza_agent.event.conversation import Conversation
from pizza_agent.event.cutoff_notice import CHECK_SECONDS as CUTOFF_CHECK_SECONDS
from pizza_agent.event.cutoff_notice import CutoffNotices
from pizza_agent.event.front_desk import FrontDesk
from pizza_agent.event.judging import deliver_outbox
from pizza_agent.event.meals import Meals, meals_for
from pizza_agent.event.organizer import Organizer
from pizza_agent.event.rate_limit import SenderRateLimiter
from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.event.rescore import Rescorer
from pizza_agent.event.runtime import Runtime
from pizza_agent.event.spend_book import SAVE_SECONDS, SpendBook
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.errors import LedgerBusy, LedgerUnreachable
from pizza_agent.ledger.store import Ledger
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm import public_api
from pizza_agent.llm.service import LLMService
from pizza_agent.people.claim_codes import ClaimCodes
from pizza_agent.people.identity import People
from pizza_agent.replicas.breakers import Breaker
from pizza_agent.replicas.lease import ActiveLease
from pizza_agent.replicas.notifications import ControlsListener
from pizza_agent.transport.chat_handlers import HandledListener, build_chat_protocol
from pizza_agent.transport.handled import HandledMessages
from pizza_agent.web.qr import qr_data_uri
from pizza_agent.web.server import WebApp
from pizza_agent.workarounds.agent_factory import (
    build_uagent,
    close_framework_clients,
    close_inspector_connect,
    fast_mailbox,
    send_in_chat,
    serve_only_while,
)
from pizza_agent.workarounds.mailbox import connect_mailbox

log = logging.getLogger("pizza.agent")

# How often a WARNING sums up the messages dropped by the rate limit since the last one.
DROPPED_REPORT_SECONDS = 60.0
# How often the messages a decision owes participants (an approval's new code) are sent.
OUTBOX_SECONDS = 2.0

Resource = Callable[[], AsyncIterator[None]]


class Resources:
    """Start in registration order, stop in reverse; a failed start stops what already started."""

    def __init__(self) -> None:
        self._registered: list[tuple[str, Resource]] = []
        self._stack: AsyncExitStack | None = None

    def add(self, name: str, resource: Resource) -> None:
        self._registered.append((name, resource))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._registered]

    async def start(self) -> None:
        async with AsyncExitStack() as stack:
            for _name, resource in self._registered:
                await stack.enter_async_context(asynccontextmanager(resource)())
            self._stack = stack.pop_all()

    async def stop(self) -> None:
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()


@dataclass
class EventParts:
    """The event's components over one ledger, built once and passed to whoever needs each."""

    settings: Settings
    llm: LLMService
    ledger: Ledger
    worker: LedgerWorker
    signer: CouponSigner
    limiter: SenderRateLimiter
    controls: Controls
    reply_times: ReplyTimes
    organizer: Organizer
    rescorer: Rescorer
    conversation: Conversation
    alerts: Alerts
    people: People
    spend_book: SpendBook = field(init=False)
    cutoffs: CutoffNotices = field(init=False)

    def __post_init__(self) -> None:
        self.spend_book = SpendBook(self.llm.spend, self.worker)
        self.cutoffs = CutoffNotices(self.worker, self.organizer.meals, self.alerts, self.settings.dashboard_url)


def assemble_event(
    settings: Settings,
    llm: LLMService,
    ledger: Ledger,
    signer: CouponSigner,
    *,
    limiter: SenderRateLimiter | None = None,
    replicas: Callable[[], Awaitable[dict[str, object]]] | None = None,
    alerts: Alerts | None = None,
    meals: Meals | None = None,
) -> EventParts:
    alerts = alerts or alerts_for(settings)
    meals = meals or meals_for(settings)
    for meal in meals.plan.meals:  # each meal's vendor codes, before any concurrent use
        if meal.pool is not None:
            ledger.coupons.load_pools(meal.pool, meal.id)
    worker = LedgerWorker(ledger)
    llm.know_pool_codes(ledger.coupons.pool_codes())  # at start, before any concurrent use
    limiter = limiter or SenderRateLimiter(
        settings.sender_rate_limit, settings.sender_rate_window, chats=settings.sender_rate_chats
    )
    controls = Controls.load(worker, llm, alerts)  # at start, before any concurrent use
    _alert_on_breakers(llm, alerts)
    reply_times = ReplyTimes()
    people = People(
        settings.participants, worker, ClaimCodes.from_signer(signer), story_min_chars=settings.story_min_chars
    )
    desk = FrontDesk(people, worker, signer)
    organizer = Organizer(
        settings, llm, worker, signer, limiter, controls, reply_times, replicas, desk=desk, meals=meals
    )
    conversation = Conversation(
        settings,
        llm,
        worker,
        signer,
        organizer=organizer,
        controls=controls,
        limiter=limiter,
        people=people,
        meals=meals,
        policy=organizer.policy,
        alerts=alerts,
    )
    rescorer = Rescorer(organizer.policy, llm, worker, signer)
    return EventParts(
        settings,
        llm,
        ledger,
        worker,
        signer,
        limiter,
        controls,
        reply_times,
        organizer,
        rescorer,
        conversation,
        alerts,
        people,
    )


def _alert_on_breakers(llm: LLMService, alerts: Alerts) -> None:
    for health in (llm.openai_health, llm.asi1_health):
        health.on_change.append(
            lambda change, detail, name=health.name: alerts.send(
                f"provider_{change}", f"{name} {change}: {detail}" if change == "tripped" else f"{name} {change}"
            )
        )


def alerts_for(settings: Settings) -> Alerts:
    return Alerts(
        settings.alert_webhook_url.get_secret_value(),
        event=settings.agent_name,
        form=settings.alert_format,
        every_minutes=settings.alert_every_minutes,
    )


class LedgerHandledStore:
    """Handled message ids in the ledger's bookkeeping (transport/handled.py's `HandledStore`)."""

    def __init__(self, worker: LedgerWorker) -> None:
        self._worker = worker

    async def seen(self, key: str) -> bool:
        """Unknown when the ledger cannot say (busy, or its database unreachable for a moment, as when a managed
        PostgreSQL restarts): the message is handled, never dropped (replays are also refused by the gate)."""
        try:
            return await self._worker.read(lambda ledger: ledger.books.seen_message(key))
        except (LedgerBusy, LedgerUnreachable):
            return False

    async def remember(self, keys: list[tuple[str, float]]) -> bool:
        """False when the ledger cannot take them now (busy, or unreachable: the bookkeeping connection is opened
        again after a restart of the database); the next answered message tries again."""
        try:
            await self._worker.keep_books(lambda ledger: ledger.books.remember_messages(keys))
        except (LedgerBusy, LedgerUnreachable):
            return False
        return True


def compose_agent(runtime: Runtime, content: StaticContent) -> Agent:
    """The running agent: every component built here, every resource registered here."""
    settings = runtime.settings
    agent = build_uagent(settings, runtime.seed)
    llm = LLMService(settings, content=content)
    public_api.configure(llm)  # the public API and the agent share one service
    breakers = {"openai": llm.openai_health, "asi1": llm.asi1_health}
    lease = _lease(settings, breakers) if settings.ledger_url.get_secret_value() else None
    parts = assemble_event(
        settings, llm, runtime.ledger, runtime.signer, replicas=lease.replicas if lease is not None else None
    )
    seen = HandledMessages(LedgerHandledStore(parts.worker))
    handled_listeners: list[HandledListener] = []
    chat = build_chat_protocol(
        parts.conversation,
        seen,
        parts.reply_times,
        coupon_image=qr_data_uri if settings.coupon_qr else None,
        handled_listeners=handled_listeners,
        card_key=parts.signer.subkey(b"cards"),
    )
    # Local mode makes no outbound call at all, so the manifest is published only on Agentverse.
    agent.include(chat, publish_manifest=settings.agent_mode is AgentMode.AGENTVERSE)
    if settings.agent_mode is AgentMode.AGENTVERSE:
        agent.include(
            HealthProtocol(agent_name=settings.agent_name, check=lambda ctx: runtime.ledger.identity_ok()),
            publish_manifest=True,
        )
    resources = _resources(agent, parts, seen, lease, handled_listeners)

    @agent.on_event("startup")
    async def start_resources(ctx: Context) -> None:
        await resources.start()

    @agent.on_event("shutdown")
    async def stop_resources(ctx: Context) -> None:
        await resources.stop()

    _intervals(agent, parts, lease)
    return agent


def _lease(settings: Settings, breakers: Mapping[str, Breaker]) -> ActiveLease:
    local = settings.agent_mode is AgentMode.LOCAL
    return ActiveLease(
        settings.ledger_url.get_secret_value(),
        settings.replica,
        settings.failover_seconds,
        breakers=dict(breakers),
        endpoint=f"http://{settings.agent_host}:{settings.agent_port}/submit" if local else "",
        serves="endpoint" if local else "mailbox",
    )


def _resources(
    agent: Agent,
    parts: EventParts,
    seen: HandledMessages,
    lease: ActiveLease | None,
    handled_listeners: list[HandledListener],
) -> Resources:
    settings = parts.settings
    resources = Resources()

    async def provider_clients() -> AsyncIterator[None]:
        yield
        await parts.llm.aclose()

    async def framework_clients() -> AsyncIterator[None]:
        yield
        await close_framework_clients(agent)

    async def spend_book() -> AsyncIterator[None]:
        await parts.spend_book.load()  # a budget spent before a restart stays spent
        yield
        await parts.spend_book.save()

    async def handled_ids() -> AsyncIterator[None]:
        yield
        await seen.flush()

    resources.add("provider clients", provider_clients)
    resources.add("framework clients", framework_clients)
    resources.add("organizer alerts", parts.alerts.run)
    resources.add("spend book", spend_book)
    resources.add("handled message ids", handled_ids)
    if lease is not None:
        resources.add("replicas", _replicas_resource(agent, parts, lease))
    if settings.agent_mode is AgentMode.AGENTVERSE:
        prompts = parts.llm.content.starter_prompts
        resources.add("mailbox", _mailbox_resource(agent, settings, lease, handled_listeners, prompts))
    if settings.dashboard_token.get_secret_value():
        resources.add("dashboard", _dashboard_resource(parts))
    return resources


def _replicas_resource(agent: Agent, parts: EventParts, lease: ActiveLease) -> Resource:
    """Replicas on one PostgreSQL: one is active (polls the mailbox, or accepts on its local endpoint),
    and each hears the organizer's switches flipped on any of them (LISTEN/NOTIFY).

    In local mode each replica lists every live replica's endpoint in the shared
    DATA_DIR/agent.json (the active one first) and a standby refuses messages with
    503, so a sender goes on to the next endpoint.
    """
    settings = parts.settings

    async def spend_so_far() -> None:
        await parts.spend_book.save()
        await parts.spend_book.load()  # with what the replica before this one spent

    lease.on_takeover.append(parts.controls.refresh)
    lease.on_takeover.append(spend_so_far)
    if settings.agent_mode is AgentMode.LOCAL:
        serve_only_while(agent, lease.may_answer)

        def list_endpoints(endpoints: list[str]) -> None:
            info = {"address": agent.address, "endpoint": endpoints[0], "endpoints": endpoints}
            write_agent_info(settings.agent_info_path, {**info, "port": settings.agent_port})

        lease.on_endpoints.append(list_endpoints)
    # Every replica serves its own dashboard: a switch flipped on any of them reaches all of them.
    listener = ControlsListener(settings.ledger_url.get_secret_value(), parts.controls.refresh)

    async def replicas() -> AsyncIterator[None]:
        await lease.start()
        await listener.start()
        yield
        await lease.stop()
        await listener.stop()

    return replicas


def _mailbox_resource(
    agent: Agent,
    settings: Settings,
    lease: ActiveLease | None,
    handled_listeners: list[HandledListener],
    starter_prompts: list[str],
) -> Resource:
    mailbox = fast_mailbox(agent)
    if mailbox is not None:
        handled_listeners.append(mailbox.handled)
        if lease is not None:
            mailbox.may_poll = lease.is_active  # one replica polls the mailbox, the others stand by
    api_key = settings.agentverse_api_key.get_secret_value()

    async def mailbox_connection() -> AsyncIterator[None]:
        watcher: asyncio.Task[None] | None = None
        if mailbox is not None:

            async def connected() -> None:
                await mailbox.connected.wait()
                close_inspector_connect(agent)

            watcher = asyncio.get_running_loop().create_task(connected())
        if api_key:
            await connect_mailbox(agent, api_key, starter_prompts)
        yield
        if watcher is not None:
            watcher.cancel()

    return mailbox_connection


def _dashboard_resource(parts: EventParts) -> Resource:
    settings = parts.settings

    async def dashboard() -> AsyncIterator[None]:
        web = WebApp(settings, parts.organizer, parts.worker, parts.signer, parts.reply_times)
        try:
            await web.start()
        except OSError as exc:  # the port is taken: the event goes on without the dashboard
            log.error("the dashboard could not start on port %d: %s", settings.dashboard_port, exc.strerror)
            yield
            return
        yield
        await web.stop()

    return dashboard


def _send_to_chat(agent: Agent) -> Callable[[Chat, str], Awaitable[bool]]:
    """A message a person is owed later (a judge's decision, an upgrade), sent into the chat their coupon was
    issued in; True only when the framework reports it delivered (or queued at the mailbox)."""

    async def send(chat: Chat, text: str) -> bool:
        return await send_in_chat(agent, chat.sender, chat.session, ChatMessage(content=[TextContent(text=text)]))

    return send


def _intervals(agent: Agent, parts: EventParts, lease: ActiveLease | None) -> None:
    """Every periodic job of the running agent, in one place."""
    send = _send_to_chat(agent)

    @agent.on_interval(period=DROPPED_REPORT_SECONDS)
    async def report_dropped(ctx: Context) -> None:
        report = parts.limiter.drop_report(DROPPED_REPORT_SECONDS)
        if report:
            log.warning(report)

    @agent.on_interval(period=SAVE_SECONDS)
    async def save_spend(ctx: Context) -> None:
        await parts.spend_book.save()

    @agent.on_interval(period=OUTBOX_SECONDS)
    async def deliver_notices(ctx: Context) -> None:
        if lease is not None and not lease.is_active():
            return  # the active replica delivers: each notice once
        try:
            content = parts.llm.content
            await deliver_outbox(parts.worker, content, send, parts.conversation.languages.default(content))
        except Exception:  # a bug here must never stop the agent
            log.exception("delivering notices failed; they will be tried again")

    @agent.on_interval(period=CUTOFF_CHECK_SECONDS)
    async def announce_cutoffs(ctx: Context) -> None:
        if lease is not None and not lease.is_active():
            return  # the active replica says it: once
        try:
            await parts.cutoffs.check()
        except Exception:  # a bug here must never stop the agent
            log.exception("announcing an order cut-off failed; it will be tried again")

    @agent.on_interval(period=parts.settings.rescore_seconds)
    async def rescore(ctx: Context) -> None:
        if lease is not None and not lease.is_active():
            return  # a standby calls no provider: one replica keeps the breakers' discipline
        try:
            await parts.rescorer.run_once()  # an upgrade's message goes through the outbox, to its chat
        except Exception:  # a bug here must never stop the agent
            log.exception("re-scoring failed; it will be tried again")
