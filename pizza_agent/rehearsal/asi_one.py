"""ASI:One-like participants for the Agentverse stand-in.

- `MailboxParticipant`: what ASI:One does on the wire, light enough for 200 in one
  process (the drill): it is registered in the stand-in's Almanac with its mailbox
  as endpoint, sends signed ChatMessages to the agent through the stand-in's
  mailbox submit, receives the agent's replies from its own mailbox and
  acknowledges every one. The first message of a session carries only
  StartSessionContent, as ASI:One's does. Same interface as the loopback
  ChatClient (both are `Participant`s: send, next_reply, ask, acks), so the drill runs either way.
- `python -m pizza_agent.rehearsal.asi_one`: a real uAgents agent (mailbox=True) doing
  the same through the stand-in's HTTP API only: registration, mailbox polling,
  Almanac resolution. The end-to-end test runs it as a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Self

import aiohttp
from uagents_core.contrib.protocols.chat import (
    ChatAcknowledgement,
    ChatMessage,
    StartSessionContent,
    TextContent,
    chat_protocol_spec,
)
from uagents_core.envelope import Envelope
from uagents_core.models import Model

from pizza_agent.client.chat_client import ACK_DIGEST, CHAT_DIGEST, Participant, sign_envelope
from pizza_agent.rehearsal.agentverse_standin import AgentverseStandIn


class MailboxParticipant(Participant):
    def __init__(self, seed: str, standin: AgentverseStandIn, agent_address: str, *, acknowledge: bool = True) -> None:
        super().__init__(seed, acknowledge=acknowledge)
        self.standin = standin
        self.agent_address = agent_address
        self.others: list[Envelope] = []
        # When the agent's envelopes reached the (stand-in) Agentverse, monotonic: where its part ends.
        self.ack_times: dict[uuid.UUID, float] = {}  # acknowledged msg_id -> the ack's arrival
        self.delivered_at: dict[uuid.UUID, float] = {}  # reply msg_id -> its arrival
        self.session = uuid.uuid4()
        self._started_session = False
        self._http: aiohttp.ClientSession | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> Self:
        self.standin.register_mailbox_agent(self.address, [chat_protocol_spec.digest])
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._reader = asyncio.get_running_loop().create_task(self._read_mailbox())
        return self

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._http is not None:
            await self._http.close()

    async def send_model(self, model: Model) -> None:
        """Any other message (a health check, say) through the mailbox; answers land in `others`."""
        await self._submit(model)

    async def _submit(self, model: Model) -> None:
        assert self._http is not None, "start() the participant first"
        envelope = sign_envelope(self.identity, self.agent_address, model, session=self.session)
        async with self._http.post(
            f"{self.standin.url}/v2/agents/mailbox/submit",
            data=envelope.model_dump_json(),
            headers={"content-type": "application/json"},
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"mailbox submit refused: HTTP {response.status}")

    async def open_session(self) -> None:
        """ASI:One opens a session with a message of no text; `send` does it first if nobody did."""
        if not self._started_session:
            self._started_session = True
            await self._submit(ChatMessage(content=[StartSessionContent()]))

    async def send(self, text: str) -> ChatMessage:
        await self.open_session()
        message = ChatMessage(content=[TextContent(text=text)])
        await self._submit(message)
        return message

    async def _read_mailbox(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                for raw, stored in await self.standin.take(self.address, timeout=3600):
                    await self._receive(Envelope.model_validate(raw), stored)

    async def _receive(self, envelope: Envelope, stored: float) -> None:
        # No signature check here: the stand-in verified it at submit, as Agentverse does (and in the
        # benchmark, verifying again in the participants' process would be measured as the agent's delay).
        if envelope.sender != self.agent_address:
            return
        payload = envelope.decode_payload()
        if envelope.schema_digest == CHAT_DIGEST:
            message = ChatMessage.parse_raw(payload)
            self.delivered_at[message.msg_id] = stored
            await self.inbox.put(message)
            if self.acknowledge:
                await self._submit(ChatAcknowledgement(acknowledged_msg_id=message.msg_id))
        elif envelope.schema_digest == ACK_DIGEST:
            ack = ChatAcknowledgement.parse_raw(payload)
            self.acks.append(ack)
            self.ack_times.setdefault(ack.acknowledged_msg_id, stored)
        else:
            self.others.append(envelope)


# --- a real uAgents agent, as ASI:One runs one (a subprocess of the end-to-end test) -------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description="An ASI:One-like participant: a real uAgents mailbox agent.")
    parser.add_argument("--agentverse", required=True, help="the stand-in's URL")
    parser.add_argument("--to", required=True, help="the Pizza Agent's address")
    parser.add_argument("--seed", default="asi-one-participant")
    parser.add_argument("--say", action="append", default=[], help="messages to send, in order, each after a reply")
    parser.add_argument("--out", type=Path, required=True, help="where to write the transcript (JSON)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--port", type=int, required=True, help="its local HTTP port")
    args = parser.parse_args()

    from uagents import Agent, Context, Protocol

    from pizza_agent.workarounds.mailbox import connect_mailbox, keep_local_server, prepare_agentverse

    prepare_agentverse()
    agent = Agent(
        name="asi-one",
        seed=args.seed,
        mailbox=True,
        agentverse=args.agentverse,
        enable_agent_inspector=False,
        report_events=False,
        publish_agent_details=True,
        handle="asi-one",
        log_level="WARNING",
        port=args.port,
    )
    keep_local_server(agent)  # 9e: a mailbox agent without it shuts down right after startup
    transcript: dict[str, list] = {"sent": [], "replies": [], "acks": []}
    remaining = list(args.say)
    deadline = time.monotonic() + args.timeout
    protocol = Protocol(spec=chat_protocol_spec)

    async def say_next(ctx: Context) -> None:
        if not remaining:
            args.out.write_text(json.dumps(transcript))
            raise SystemExit(0)
        text = remaining.pop(0)
        transcript["sent"].append(text)
        await ctx.send(args.to, ChatMessage(content=[TextContent(text=text)]))

    @protocol.on_message(ChatMessage)
    async def on_reply(ctx: Context, sender: str, msg: ChatMessage) -> None:
        transcript["replies"].append(msg.text())
        await ctx.send(sender, ChatAcknowledgement(acknowledged_msg_id=msg.msg_id))
        await say_next(ctx)

    @protocol.on_message(ChatAcknowledgement)
    async def on_ack(ctx: Context, sender: str, msg: ChatAcknowledgement) -> None:
        transcript["acks"].append(str(msg.acknowledged_msg_id))

    agent.include(protocol)

    @agent.on_event("startup")
    async def begin(ctx: Context) -> None:
        await connect_mailbox(agent, "asi-one-user-token")
        await ctx.send(args.to, ChatMessage(content=[StartSessionContent()]))
        await say_next(ctx)

    @agent.on_interval(period=1.0)
    async def give_up(ctx: Context) -> None:
        if time.monotonic() > deadline:
            args.out.write_text(json.dumps(transcript))
            raise SystemExit(3)

    try:
        agent.run()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
