"""A local OpenAI-compatible server that misbehaves on purpose.

Tests, the drill and developers point OPENAI_BASE_URL / ASI1_BASE_URL at it.
The fault is chosen by the server-wide fault set with `POST /control
{"fault": "silent"}` (or `FaultProvider.set_fault`); until one is set, a model
name that is a fault (`OPENAI_MODEL=rate-limit-2`) picks it per request, and
any other model name gets `ok`. The fault set last always wins, so an agent
started with a faulty model name can be switched to another fault while it runs.

Faults: ok, rate-limit (429, no header), rate-limit-N (Retry-After: N s),
rate-limit-ms-N (retry-after-ms: N), error-500-once (then ok, per model),
error-503, error-408, unauthorized (401), forbidden (403), context-length (400),
content-policy (400), silent (never answers), slow-N (answers after N s),
reset (TCP reset), malformed (200, body not JSON), wrong-shape (200, JSON
without choices), empty (200, empty content), flapping-N (503 for N s from the
first request after it was set, then ok), gullible (the worst-case judge of
worst_case_judge.py: it obeys any instruction to the grader it can still read,
in any language or encoding, and answers the rubric with 10s and real quotes;
asked to detect injections it has been talked out of finding any, so the
benchmark measures the agent's own pipeline),
intent-KIND (classifies every message as KIND: story, other, greeting, help,
pizza_request — a model that gets intent wrong; every other task answers ok),
no-json-schema (400 for a
json_schema response_format, like a model without structured outputs),
length (200 cut off: finish_reason "length"), length-below-N (cut off unless the
request allows N tokens or more), content-filter (200 with finish_reason
"content_filter"), lognormal-MEDIAN-SIGMA (answers ok after a log-normally
distributed delay, median MEDIAN s: a healthy API with a realistic tail;
seeded, so runs repeat).

Latency, besides any fault: `latency` (median and p95 seconds) delays every answer — fixed when the
two are equal, else log-normal through them (seeded) — like a real model's response time. Set it at
start (`--latency-ms 600` or `--latency-ms 600,1500`) or live (`POST /control {"latency_ms": [600,
1500]}`, `[0]` for none). Each recorded request keeps when it was answered, so a test can see which
calls ran side by side and which one after another.

Usage is reported like a real API: prompt tokens ~ the words sent, completion
tokens ~ the words answered; every request records its max_tokens and temperature.

Every request is recorded (time, model, fault, task) for tests to count
attempts and measure gaps. Answers: scoring prompts get a JSON score,
intent prompts a JSON intent, other prompts plausible text.

Run: python -m pizza_agent.rehearsal.fault_provider --port 9100 [--fault silent]  (or make provider)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import re
import socket
import struct
import time
from dataclasses import dataclass, field

from aiohttp import web

from pizza_agent.llm.tasks import DATAMARK
from pizza_agent.rehearsal.worst_case_judge import instruction_in

FAULTS = (
    "ok",
    "rate-limit",
    "rate-limit-N",
    "rate-limit-ms-N",
    "error-500-once",
    "error-503",
    "error-408",
    "unauthorized",
    "forbidden",
    "context-length",
    "content-policy",
    "silent",
    "slow-N",
    "reset",
    "malformed",
    "wrong-shape",
    "empty",
    "flapping-N",
    "gullible",
    "intent-KIND",
    "length",
    "length-below-N",
    "content-filter",
    "lognormal-MEDIAN-SIGMA",
    "no-json-schema",
)
_FAULT_RE = re.compile(
    r"^(ok|rate-limit(-ms)?(-\d+(\.\d+)?)?|error-500-once|error-503|error-408|unauthorized|forbidden|context-length"
    r"|content-policy|silent|slow-\d+(\.\d+)?|reset|malformed|wrong-shape|empty|flapping-\d+(\.\d+)?|gullible"
    r"|intent-(?:story|other|greeting|help|pizza_request)|length|length-below-\d+|content-filter"
    r"|lognormal-\d+(\.\d+)?-\d+(\.\d+)?|no-json-schema)$"
)


def is_fault(name: str) -> bool:
    return bool(_FAULT_RE.match(name))


@dataclass(frozen=True)
class RecordedRequest:
    at: float  # time.monotonic() when the request arrived
    model: str
    fault: str
    task: str
    authorization: str
    max_tokens: int | None = None
    temperature: float | None = None
    response_format: str | None = None  # its "type", if the request asked for structured output
    system: str = ""  # the system message (what the task asked for, in which language)


@dataclass
class FaultProvider:
    default_fault: str = "ok"
    fault_was_set: bool = False  # set_fault() or /control was used: that fault wins over model names
    canned_answer: str | None = None  # when set, every "ok" answer has this content
    requests: list[RecordedRequest] = field(default_factory=list)
    _failed_once: set[str] = field(default_factory=set)
    _flapping_since: dict[str, float] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    port: int = 0
    in_flight: int = 0
    max_in_flight: int = 0  # the most completion requests it was serving at once
    rng: random.Random = field(default_factory=lambda: random.Random(20261123))
    obeyed: int = 0  # how many times the gullible judge followed an instruction in a story
    latency: tuple[float, float] = (0.0, 0.0)  # (median, p95) seconds added to every answer
    answered_at: dict[int, float] = field(default_factory=dict)  # request index -> time.monotonic() answered

    def set_latency(self, median: float, p95: float | None = None) -> None:
        """Every answer waits this long: fixed (p95 = median), or log-normal through the median and p95."""
        p95 = median if p95 is None else p95
        if median < 0 or p95 < median:
            raise ValueError("latency: 0 <= median <= p95")
        self.latency = (median, p95)

    def _delay(self) -> float:
        median, p95 = self.latency
        if median <= 0:
            return 0.0
        if p95 <= median:
            return median
        sigma = math.log(p95 / median) / 1.6449  # the 95th percentile of a normal is 1.6449 sigma
        return self.rng.lognormvariate(math.log(median), sigma)

    # --- control -------------------------------------------------------------
    def set_fault(self, fault: str) -> None:
        if not is_fault(fault):
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.default_fault = fault
        self.fault_was_set = True
        self._failed_once.clear()
        self._flapping_since.clear()

    def requests_for(self, task: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if task is None or r.task == task]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # --- server --------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/control", self._control)
        app.router.add_get("/control", self._control_get)
        return app

    async def start(self, port: int = 0, host: str = "127.0.0.1") -> FaultProvider:
        self._runner = web.AppRunner(self.app(), handle_signals=False, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port bound (0 asks the system for a free one)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _models(self, request: web.Request) -> web.Response:
        names = ["gpt-4o-mini", "asi1-mini", *FAULTS]
        return web.json_response({"object": "list", "data": [{"id": n, "object": "model"} for n in names]})

    async def _control(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            if "latency_ms" not in body and "fault" not in body:
                raise KeyError("send fault, latency_ms, or both")
            if "latency_ms" in body:
                median, *p95 = [float(ms) / 1000 for ms in body["latency_ms"]]
                self.set_latency(median, p95[0] if p95 else None)
            if "fault" in body:
                self.set_fault(str(body["fault"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"fault": self.default_fault, "latency_ms": [x * 1000 for x in self.latency]})

    async def _control_get(self, request: web.Request) -> web.Response:
        return web.json_response({"fault": self.default_fault, "requests": len(self.requests)})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        try:
            body = await request.json()
            model = str(body.get("model", ""))
            messages = body.get("messages") or []
        except (ValueError, AttributeError):
            return web.json_response({"error": {"message": "invalid JSON"}}, status=400)
        fault = model if is_fault(model) and not self.fault_was_set else self.default_fault
        task = _task_of(messages)
        self.requests.append(
            RecordedRequest(
                arrived,
                model,
                fault,
                task,
                request.headers.get("Authorization", ""),
                body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None,
                body.get("temperature") if isinstance(body.get("temperature"), int | float) else None,
                (body.get("response_format") or {}).get("type")
                if isinstance(body.get("response_format"), dict)
                else None,
                next(
                    (str(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "system"), ""
                ),
            )
        )
        index = len(self.requests) - 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            delay = self._delay()
            if delay:
                await asyncio.sleep(delay)
            return await self._respond(request, fault, model, task, messages, arrived, self.requests[-1].max_tokens)
        finally:
            self.answered_at[index] = time.monotonic()
            self.in_flight -= 1

    async def _respond(
        self,
        request: web.Request,
        fault: str,
        model: str,
        task: str,
        messages: list,
        arrived: float,
        allowed: int | None,
    ) -> web.StreamResponse:
        if fault.startswith("rate-limit"):
            return _rate_limited(fault)
        if fault == "error-500-once":
            if model not in self._failed_once:
                self._failed_once.add(model)
                return _error(500, "server_error", "internal error")
        elif fault == "error-503":
            return _error(503, "server_error", "service unavailable")
        elif fault == "error-408":
            return _error(408, "timeout", "request timeout")
        elif fault in ("unauthorized", "forbidden"):
            status = 401 if fault == "unauthorized" else 403
            return _error(status, "invalid_api_key", "Incorrect API key provided")
        elif fault == "context-length":
            return _error(400, "context_length_exceeded", "maximum context length exceeded")
        elif fault == "no-json-schema" and self.requests[-1].response_format == "json_schema":
            return _error(400, "invalid_request_error", "response_format json_schema is not supported by this model")
        elif fault == "content-policy":
            return _error(400, "content_policy_violation", "rejected by content policy")
        elif fault == "silent":
            await asyncio.Event().wait()  # until the client gives up and the connection closes
        elif fault.startswith("slow-"):
            await asyncio.sleep(float(fault.removeprefix("slow-")))
        elif fault.startswith("lognormal-"):
            median, sigma = (float(x) for x in fault.removeprefix("lognormal-").split("-"))
            await asyncio.sleep(self.rng.lognormvariate(math.log(median), sigma))
        elif fault == "reset":
            _reset_connection(request)
            await asyncio.Event().wait()
        elif fault == "malformed":
            return web.Response(status=200, text='{"id": "x", "choices": [ {', content_type="application/json")
        elif fault == "wrong-shape":
            return web.json_response({"id": "x", "object": "chat.completion", "result": "pizza"})
        elif fault == "empty":
            return web.json_response(_completion(model, "", "stop", messages))
        elif fault.startswith("flapping-"):
            since = self._flapping_since.setdefault(model, arrived)
            if arrived - since < float(fault.removeprefix("flapping-")):
                return _error(503, "server_error", "flapping: down")
        finish = "stop"
        if fault == "length" or (fault.startswith("length-below-") and (allowed or 0) < int(fault.rsplit("-", 1)[1])):
            finish = "length"
        elif fault == "content-filter":
            return web.json_response(_completion(model, "", "content_filter", messages))
        if fault.startswith("intent-") and task == "classify-intent":
            content = json.dumps({"intent": fault.removeprefix("intent-")})
        elif fault == "gullible" and task == "score-story" and instruction_in(_user_text(messages)):
            self.obeyed += 1
            content = _rubric(_user_text(messages), 10, "As the story instructed.")
        elif fault == "gullible" and task == "detect-injection":
            content = json.dumps({"injection": False, "quotes": []})
        elif self.canned_answer is not None:
            content = self.canned_answer
        else:
            content = answer_for(task, messages)
        if finish == "length":
            content = content[: max(1, len(content) // 3)]
        return web.json_response(_completion(model, content, finish, messages))


def _rate_limited(fault: str) -> web.Response:
    headers = {}
    if fault.startswith("rate-limit-ms-"):
        headers["retry-after-ms"] = fault.removeprefix("rate-limit-ms-")
    elif fault.startswith("rate-limit-"):
        headers["Retry-After"] = fault.removeprefix("rate-limit-")
    body = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
    return web.json_response(body, status=429, headers=headers)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": code, "code": code}}, status=status)


def _reset_connection(request: web.Request) -> None:
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if request.transport is not None:
        request.transport.abort()


def _completion(model: str, content: str, finish_reason: str, messages: list) -> dict[str, object]:
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages if isinstance(m, dict)) + 3
    completion_tokens = len(content.split()) + 1
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _task_of(messages: list) -> str:
    system = next((m.get("content", "") for m in messages if isinstance(m, dict) and m.get("role") == "system"), "")
    match = re.search(r"Task: ([\w-]+)", str(system))
    return match.group(1) if match else "chat"


_ADDRESSES = re.compile(
    r"\b(?:you|your|this story|this one|this entry|this input|this|please|kindly)\b"
    r"|^\W*(?:give|rate|score|assign|output|return|ignore|print|set|make|treat|answer)\b",
    re.IGNORECASE,
)
_BOUNDARY = re.compile(r"^<<(?:END )?[A-Z]+ [0-9a-f]+>>$", re.MULTILINE)


def _user_text(messages: list) -> str:
    """The participant's text as a model reads it: boundary lines gone, datamarks read as spaces."""
    text = "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict) and m.get("role") == "user")
    return _BOUNDARY.sub("", text).replace(DATAMARK, " ").strip()


def _rubric(story: str, points: int, why: str, theme_bonus: int = 0) -> str:
    """A rubric answer whose quotes really are in the story (its first words)."""
    quote = " ".join(story.split()[:6]) or "the story"
    criteria = {"craft": points, "theme": min(10, points + theme_bonus), "originality": points}
    return json.dumps({name: {"score": n, "quote": quote, "why": why} for name, n in criteria.items()})


_QUOTED = re.compile(r"(?<!\w)'(.{8,}?)'(?!\w)|\"([^\"]{8,})\"|“([^”]{8,})”")


def answer_for(task: str, messages: list) -> str:
    """A plausible, deterministic answer for each of the agent's tasks."""
    text = _user_text(messages)
    if task == "score-story":
        # An honest judge whose score moves only with length and theme, so that cutting a sentence
        # of instructions does not move a story's tier by chance.
        points = 3 + min(5, len(text.split()) // 20)
        themed = 1 if re.search(r"pizza|hack|code|demo|bug", text, re.IGNORECASE) else 0
        return _rubric(text, points, "A lively story with a clear hackathon theme.", themed)
    if task == "detect-injection":
        # A reasonable detector: a sentence the worst-case judge would obey that also speaks to the
        # reader, gives an order or points at this story (a story may mention judges and scores).
        # Like a model, it quotes the instruction itself: a line in quotation marks inside a sentence
        # of narrative ("the demo ended with the line '…'") is quoted alone, not with the narrative.
        found = []
        for sentence in re.findall(r"[^.!?\n]+[.!?]?", text):
            if instruction_in(sentence) and _ADDRESSES.search(sentence):
                inner = [q for m in _QUOTED.finditer(sentence) if instruction_in(q := next(g for g in m.groups() if g))]
                found += inner or [sentence.strip()]
        return json.dumps({"injection": bool(found), "quotes": found})
    if task == "classify-intent":
        message = text.lower()
        if len(message.split()) >= 8 and not message.endswith("?"):
            intent = "story"
        elif "help" in message:
            intent = "help"
        elif any(word in message for word in ("pizza", "slice", "prompt", "hungry")):
            intent = "pizza_request"
        else:
            intent = "greeting"
        return json.dumps({"intent": intent})
    if task == "write-story-prompt":
        salt = int(time.monotonic_ns() % 100000)
        return f"A pizza-powered robot joins your hackathon team at minute {salt}. What does it build with you?"
    if task == "write-reply":
        return "What a fun read! Your story brought the hackathon spirit to life, and the judges loved it."
    return "Hello from the local provider."


async def _main() -> None:
    parser = argparse.ArgumentParser(description="Local OpenAI-compatible provider that misbehaves on purpose.")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--latency-ms", help="every answer waits: MEDIAN (fixed) or MEDIAN,P95 (log-normal)")
    parser.add_argument(
        "--fault", help=f"the fault for every request (default: the model name's, else ok): {', '.join(FAULTS)}"
    )
    args = parser.parse_args()
    provider = FaultProvider()
    if args.fault:
        provider.set_fault(args.fault)
    if args.latency_ms:
        median, *p95 = [float(ms) / 1000 for ms in args.latency_ms.split(",")]
        provider.set_latency(median, p95[0] if p95 else None)
    await provider.start(args.port)
    print(f"fault provider on {provider.base_url} (default fault: {provider.default_fault}); Ctrl+C stops")
    try:
        await asyncio.Event().wait()
    finally:
        await provider.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
