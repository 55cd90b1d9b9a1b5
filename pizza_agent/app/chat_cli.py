"""Talk to the local Pizza Agent from a terminal, over real uAgents messages on loopback (`chat.py`).

    python chat.py                      interactive
    python chat.py "I want pizza"       one shot: prints the agent's reply, exits 0
    python chat.py --seed ORGANIZER_SEED status

It finds the agent from the agent's data directory (DATA_DIR/agent.json);
`--agent ADDRESS --port N` points it elsewhere. `--seed` (or CHAT_SEED) picks
the client's identity, so one machine can play several participants.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import uuid
from pathlib import Path

import aiohttp
from uagents_core.contrib.protocols.chat import ChatMessage, MetadataContent
from uagents_core.identity import Identity

from pizza_agent.client.card_text import card_text, cards_of, chosen, remember
from pizza_agent.client.chat_client import AgentRef, ChatClient, ChatSession
from pizza_agent.config.settings import ConfigError, load_settings


def client_seed(explicit: str | None, data_dir: Path) -> str:
    """--seed, else CHAT_SEED, else one kept in the data directory (a stable identity)."""
    if explicit:
        return explicit
    if os.environ.get("CHAT_SEED"):
        return os.environ["CHAT_SEED"]
    from pizza_agent.config.secret_files import load_or_create_secret

    return load_or_create_secret(data_dir / "chat_seed")


async def converse(args: argparse.Namespace) -> int:
    # Trying the next replica's endpoint during a takeover is routine: stamina's default hook would
    # print a warning with a traceback for each try into the participant's terminal.
    logging.getLogger("stamina").setLevel(logging.ERROR)
    settings = load_settings()
    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir
    if args.whoami:  # the address comes from the seed alone: no agent needs to run (to configure one)
        print(Identity.from_seed(client_seed(args.seed, data_dir), 0).address)
        return 0
    if args.agent:
        agent = AgentRef(args.agent, f"http://127.0.0.1:{args.port or settings.agent_port}/submit")
    else:
        try:
            agent = AgentRef.from_data_dir(data_dir)
        except (OSError, ValueError, KeyError):
            print(f"No local agent found in {data_dir}: start it with `make run` (or pass --agent/--port).")
            return 1
    client = ChatClient(client_seed(args.seed, data_dir), agent, data_dir / "peers")
    async with client:
        chat = client.chat(chat_session(data_dir, client.address, new=args.new_chat))
        cards = data_dir / "chat_cards" / client.address  # the last card shown, for --choose N
        if args.choose is not None:
            try:
                answer = chosen(cards, args.choose)
            except ValueError as exc:
                print(exc)
                return 1
            return await one_shot(chat, answer, args.timeout, cards)
        if args.message:
            return await one_shot(chat, " ".join(args.message), args.timeout, cards)
        return await interactive(chat, args.timeout, cards)


def chat_session(data_dir: Path, address: str, *, new: bool) -> uuid.UUID:
    """The terminal's chat: one session kept across runs (a badge's claim code binds it, as a chat in ASI:One
    is bound), until `--new-chat` starts another one."""
    path = data_dir / "chat_sessions" / address
    if not new and path.exists():
        with contextlib.suppress(ValueError):
            return uuid.UUID(path.read_text().strip())
    session = uuid.uuid4()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(str(session))
    return session


def _unreachable(client: ChatClient, exc: Exception) -> str:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ClientConnectorError | ConnectionRefusedError):
        reason = "nothing is listening there (is the agent running? start it with `make run`)"
    return f"Could not reach the agent at {client.agent.endpoint}: {reason}"


def shown(message: ChatMessage, cards: Path) -> str:
    """The reply's text, then each card in words (the last one with answers kept for --choose)."""
    parts = [message.text()]
    for card in cards_of(message):
        parts.append(card_text(card))
        remember(cards, card)
    return "\n".join(parts)


async def one_shot(chat: ChatSession, text: str | MetadataContent, timeout: float, cards: Path) -> int:
    client = chat.client
    try:
        if isinstance(text, MetadataContent):
            reply = await chat.reply_to_card(text, timeout)
        else:
            reply = await chat.exchange(text, timeout)
        print(shown(reply, cards), flush=True)
    except TimeoutError:  # before OSError: in Python 3.11 TimeoutError is an OSError
        print(f"The agent did not reply within {timeout:g}s (it may be busy or stopped).", flush=True)
        return 1
    except (OSError, RuntimeError, aiohttp.ClientError) as exc:
        print(_unreachable(client, exc), flush=True)
        return 1
    return 0


async def interactive(chat: ChatSession, timeout: float, cards: Path) -> int:
    """One line, one message. A time-out or an unreachable agent is reported and the session goes on."""
    client = chat.client
    print(f"You are {client.address[-12:]}. Talking to the Pizza Agent; empty line or Ctrl+D quits.", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        while not chat.inbox.empty():  # a reply that came after its time-out
            print(f"(late reply) {chat.inbox.get_nowait().text()}", flush=True)
        if not line.strip():
            return 0
        try:
            await client.send(line.strip(), session=chat.session)
        except (OSError, RuntimeError, aiohttp.ClientError) as exc:
            print(_unreachable(client, exc) + " — try again, or Ctrl+D to quit.", flush=True)
            continue
        print("waiting for the agent…", file=sys.stderr, flush=True)
        try:
            reply = await asyncio.wait_for(chat.inbox.get(), timeout)
        except TimeoutError:
            print(f"The agent did not reply within {timeout:g}s; it may still answer. Keep typing.", flush=True)
            continue
        print(shown(reply, cards), flush=True)


def chat_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Chat with the local Pizza Agent.")
    parser.add_argument("message", nargs="*", help="send this one message and exit")
    parser.add_argument("--seed", help="client identity seed (default: CHAT_SEED or a saved one)")
    parser.add_argument("--agent", help="agent address (default: from the data directory)")
    parser.add_argument("--port", type=int, help="agent port on 127.0.0.1 (with --agent)")
    parser.add_argument("--data-dir", help="the agent's data directory (default: DATA_DIR)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for each reply (default 30)")
    parser.add_argument("--whoami", action="store_true", help="print this client's agent address and exit")
    parser.add_argument("--new-chat", action="store_true", help="start a new chat (as opening a new chat in ASI:One)")
    parser.add_argument(
        "--choose",
        type=int,
        metavar="N",
        help="answer the last card shown with its answer N (as tapping it in ASI:One)",
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(converse(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:  # stdout closed (`chat.py ... | head -1`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
