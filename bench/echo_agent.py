"""A bare uAgents echo agent with the same framework settings as the Pizza Agent (the baseline).

Same constructor arguments as local mode (offline, concurrent handlers, the
loopback peer resolver so it can reply), none of the Pizza Agent's own code on
the message path: it acknowledges a ChatMessage and echoes its text.

    python bench/echo_agent.py PORT DATA_DIR
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uagents.asgi
from uagents import Context, Protocol
from uagents_core.contrib.protocols.chat import (
    ChatAcknowledgement,
    ChatMessage,
    TextContent,
    chat_protocol_spec,
)

from pizza_agent.workarounds.uagents_compat import LocalPeerResolver, NoRegistration, OfflineAgent, prepare_offline


def main() -> None:
    port, data_dir = int(sys.argv[1]), Path(sys.argv[2])
    data_dir.mkdir(parents=True, exist_ok=True)
    prepare_offline()
    uagents.asgi.HOST = "127.0.0.1"
    agent = OfflineAgent(
        name="echo",
        seed="pizza-bench-echo-agent",
        port=port,
        endpoint=[f"http://127.0.0.1:{port}/submit"],
        resolve=LocalPeerResolver(data_dir / "peers"),
        registration_policy=NoRegistration(),
        enable_agent_inspector=False,
        mark_inactive_on_shutdown=False,
        report_events=False,
        publish_agent_details=False,
        handle_messages_concurrently=True,
        shutdown_timeout=0.5,
        log_level="WARNING",
    )
    protocol = Protocol(spec=chat_protocol_spec)

    @protocol.on_message(ChatMessage)
    async def echo(ctx: Context, sender: str, msg: ChatMessage) -> None:
        await ctx.send(sender, ChatAcknowledgement(acknowledged_msg_id=msg.msg_id))
        await ctx.send(sender, ChatMessage(content=[TextContent(text=msg.text())]))

    @protocol.on_message(ChatAcknowledgement)
    async def ack(ctx: Context, sender: str, msg: ChatAcknowledgement) -> None:
        return None

    agent.include(protocol)
    endpoint = f"http://127.0.0.1:{port}/submit"
    (data_dir / "agent.json").write_text(
        json.dumps({"address": agent.address, "endpoint": endpoint, "pid": os.getpid()})
    )
    agent.run()


if __name__ == "__main__":
    main()
