"""The uagents `Agent`, built with every workaround in place, and the few named reach-ins the rest needs.

Everything that touches a private attribute of uagents 0.26.1 (`_server`,
`_dispenser`, `_mailbox_client`, `_resolver`, the module global
`uagents.asgi.HOST`) is in this room; the composition root calls the small
functions below instead. docs/framework-defects.md says what each defect is,
how it was reproduced and which test reproduces it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import uagents.asgi
from uagents import Agent, Model
from uagents_core.types import DeliveryStatus

from pizza_agent.config.settings import AgentMode, Settings
from pizza_agent.workarounds.fast_crypto import use_libsecp256k1
from pizza_agent.workarounds.mailbox import (
    AlmanacCache,
    FastMailboxClient,
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

# Handlers still running at Ctrl+C get this long before they are cancelled.
SHUTDOWN_GRACE_SECONDS = 0.5


def build_uagent(settings: Settings, seed: str) -> Agent:
    """The agent for this mode (local: offline on loopback; agentverse: mailbox), every workaround applied."""
    patch_validation_error()
    use_libsecp256k1()  # defect 16: envelope signatures 3-7x faster
    route_framework_logs()
    agent = _construct(settings, seed)
    agent._dispenser = ConcurrentDispenser(settings.send_timeout)  # type: ignore[attr-defined]  # defect 2
    GuardedASGIServer.replace_in(agent, settings.message_max_bytes, agentverse_origin(settings))  # defects 5-7, 10-14
    return agent


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
        uagents.asgi.HOST = settings.agent_host  # defect 17: the framework binds 0.0.0.0 otherwise
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
    # Agentverse mode: every Almanac, mailbox and registration call goes to AGENTVERSE_URL (defect 9c).
    prepare_agentverse()
    agent = RobustDispatch(
        **common,
        mailbox=True,
        agentverse=settings.agentverse_url,
        resolve=AlmanacCache(f"{settings.agentverse_url}/v1/almanac"),  # defect 9b: cached until expiry
        publish_agent_details=True,
        readme_path=str(settings.agent_readme),  # the participant-facing readme, not the developers'
        avatar_url=settings.agent_avatar_url or None,
        handle=settings.agent_handle,
        description=settings.agent_description,
        enable_agent_inspector=inspector_wanted(settings),
    )
    keep_local_server(agent)  # defect 9e
    if settings.mailbox_client == "fast":  # defect 9a; "framework" keeps uagents' own, for comparison
        agent._mailbox_client = FastMailboxClient(  # type: ignore[attr-defined]
            agent._identity,  # type: ignore[attr-defined]
            agent._agentverse,  # type: ignore[attr-defined]
            agent._logger,  # type: ignore[attr-defined]
        )
    return agent


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


# --- the named reach-ins ---------------------------------------------------------------------
def serve_only_while(agent: Agent, may_serve: Callable[[], bool]) -> None:
    """Local-mode replicas: the HTTP gate answers 503 while `may_serve()` is false (a standby)."""
    agent._server.may_serve = may_serve  # type: ignore[attr-defined]


def fast_mailbox(agent: Agent) -> FastMailboxClient | None:
    """The agent's own concurrent mailbox client, if it has one (MAILBOX_CLIENT=fast in Agentverse mode)."""
    mailbox = agent.mailbox_client
    return mailbox if isinstance(mailbox, FastMailboxClient) else None


def close_inspector_connect(agent: Agent) -> None:
    """Once the mailbox is connected, the inspector's /connect is closed (nobody may re-point the mailbox)."""
    agent._server.mailbox_connected = True  # type: ignore[attr-defined]


async def close_framework_clients(agent: Agent) -> None:
    """The reply dispenser's and the Almanac cache's HTTP sessions, closed at shutdown."""
    await agent._dispenser.aclose()  # type: ignore[attr-defined]
    resolver = getattr(agent, "_resolver", None)
    if isinstance(resolver, AlmanacCache):
        await resolver.aclose()


async def send_in_chat(agent: Agent, destination: str, session: str, message: Model) -> bool:
    """Send `message` into an existing chat session, outside any handler (a decision's message, later).

    Defect 18: the framework gives a context only to handlers and intervals, and its `send` always
    uses that context's session — for an interval, a new random one — with no public way to name
    another. A later message then opens a new chat: ASI:One shows it apart from the conversation
    (or not at all), and a platform carrying many people cannot tell whose it is. Here a fresh
    context is built the way the framework builds one and given the chat's session. True only when
    the framework reports the envelope delivered (the peer's endpoint, or the mailbox, took it).
    """
    ctx = agent._build_context()
    with contextlib.suppress(ValueError):
        ctx._session = uuid.UUID(session)  # a session that is not a UUID: a new one (the message still goes)
    status = await ctx.send(destination, message)
    return status.status == DeliveryStatus.DELIVERED
