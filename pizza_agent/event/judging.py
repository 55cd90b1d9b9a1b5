"""The judges' desk: what software could not settle, put before a human, from chat and from the dashboard.

`review` lists what waits (short id, the tier given, the judge's uncapped score,
the suspected passages marked «like this»), the whole queue page by page (`review`
is page 1, `review N` page N, `review more` the next one), oldest first, the real
count on every page; one participant's stories are one entry (their oldest, then
"+N more from the same participant" with the others' ids), so no participant can
push the others off a page. A story is shown on one line: its newlines and other
control characters are made visible (⏎), never obeyed, so a story cannot forge a
line of the answer. The dashboard pages the same queue. `approve ID` lets the judge's
uncapped score stand (a new code of the higher tier, the old one voided, the
participant told); `reject ID [reason]` keeps the capped tier. Each decision is
taken once, whoever asks and on whichever replica (ledger/reviews.py).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.identity import Chat
from pizza_agent.domain.languages import BASE_LANGUAGE, speaking
from pizza_agent.domain.reply import CardSpec, sender_id
from pizza_agent.event.grants import GrantPolicy
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.reviews import Notice, QueuePage, Review, ReviewDecision, WaitingGroup
from pizza_agent.ledger.worker import LedgerWorker

log = logging.getLogger("pizza.judges")

# How much of a story `review` shows in chat (the dashboard shows it whole).
STORY_EXCERPT_CHARS = 400
REVIEWS_LISTED = 10  # participants (entries) on one `review` page
DASHBOARD_PAGE = 25  # participants (entries) on one page of the dashboard's queue
NEXT_PAGE_WORDS = ("more", "next")
# How a character that would break or reorder a line is shown instead.
_VISIBLE = {"\n": "⏎", "\r": "␍", "\t": "⇥"}
_HIDDEN_CATEGORIES = ("Cc", "Cf", "Zl", "Zp")  # controls, format (bidi overrides, zero-width), separators
_KEPT = frozenset("\u200d")  # the zero-width joiner: emoji sequences (👩‍💻) stay whole


def shown(text: str) -> str:
    """A participant's text as one line that cannot pass for ours: each newline is ⏎, every other
    control, format or line-separator character is <U+XXXX>; nothing in it is obeyed.

    Hand-written: `repr` or the `unicode_escape` codec would also escape the accents and emoji a
    judge has to read; only what can break or reorder a line is made visible."""
    out = []
    for ch in text:
        if ch in _VISIBLE:
            out.append(_VISIBLE[ch])
        elif ch not in _KEPT and unicodedata.category(ch) in _HIDDEN_CATEGORIES:
            out.append(f"<U+{ord(ch):04X}>")
        else:
            out.append(ch)
    return "".join(out)


def marked(story: str, passages: list[str]) -> str:
    """The story with each suspected passage between « and »."""
    for passage in sorted(set(passages), key=len, reverse=True):
        if passage and f"«{passage}»" not in story:
            story = story.replace(passage, f"«{passage}»")
    return story


class JudgesDesk:
    def __init__(self, policy: GrantPolicy, ledger: LedgerWorker, signer: CouponSigner) -> None:
        self.policy = policy
        self.ledger = ledger
        self.signer = signer
        self._last_page: dict[str, int] = {}  # per organizer: the page `review more` goes on from
        self.cards_shown: dict[str, tuple[CardSpec, ...]] = {}  # per organizer: the cards of the page shown last

    async def waiting(self) -> list[Review]:
        """Every waiting story, oldest first."""
        return await self.ledger.read(lambda ledger: ledger.reviews.waiting())

    async def page(self, page: int, per_page: int) -> QueuePage:
        return await self.ledger.read(lambda ledger: ledger.reviews.waiting_page(page, per_page))

    async def waiting_as_data(self, page: int = 1) -> dict[str, object]:
        """For the dashboard: one page of the queue, each story whole and shown on one line (the page
        escapes it too), one entry per participant with the rest of theirs in `same_participant`."""
        queue = await self.page(page, DASHBOARD_PAGE)
        entries = [
            {**self._as_data(group.first), "same_participant": [self._as_data(review) for review in group.more]}
            for group in queue.groups
        ]
        return {
            "count": queue.waiting,
            "participants": queue.participants,
            "page": queue.page,
            "pages": queue.pages,
            "per_page": DASHBOARD_PAGE,
            "waiting": entries,
        }

    def _as_data(self, review: Review) -> dict[str, object]:
        item = asdict(review)
        item["participant"] = sender_id(item.pop("person"))
        item["judge_tier"] = self.policy.for_approval(review)[0]
        item["judge_line"] = self.policy.judge_line(review)
        item["story"] = shown(review.story)
        item["passages"] = [shown(passage) for passage in review.passages]
        return item

    async def review_text(self, args: str = "", by: str = "") -> str:
        """`review` (page 1), `review N`, `review more` (the page after the one `by` saw last)."""
        asked = args.strip().lower()
        if asked in NEXT_PAGE_WORDS:
            page = self._last_page.get(by, 0) + 1
        elif not asked or (asked.isascii() and asked.isdigit() and len(asked) <= 6):
            page = int(asked or 1)
        else:
            return "Usage: review (page 1) · review N (page N) · review more (the next page)"
        queue = await self.page(page, REVIEWS_LISTED)
        undelivered = await self._undelivered()
        if queue.waiting == 0:
            return undelivered + "Nothing waits for the judges."
        if not queue.groups:
            if asked in NEXT_PAGE_WORDS:
                self._last_page.pop(by, None)
                return f"That was the last page ({queue.pages} of {queue.pages}): `review` starts again from page 1."
            return f"No page {page}: the queue has {queue.pages} page(s). `review` shows page 1."
        self._last_page[by] = page
        self.cards_shown[by] = tuple(self._card(group.first) for group in queue.groups)
        return undelivered + self._page_text(queue)

    def _card(self, review: Review) -> CardSpec:
        """A review card for one waiting story: approving or rejecting it acts like the typed command."""
        story = shown(marked(review.story, review.passages))[:STORY_EXCERPT_CHARS]
        rows = (
            ("given", f"{review.given_tier} (score {review.given_score})"),
            ("judge", self.policy.judge_line(review)),
            ("why", review.why),
            ("story", story),
        )
        return CardSpec("review", f"review:{review.id}", f"Story {review.id}", rows=rows)

    async def _undelivered(self) -> str:
        """New codes that could not be delivered to the person's chat: the judges see them first."""
        notices = await self.ledger.read(lambda ledger: ledger.reviews.undelivered())
        if not notices:
            return ""
        lines = [f"NOT DELIVERED ({len(notices)}): tell them at the table or desk (`lookup` shows their coupon):"]
        lines += [
            f"  {n.kind} for participant {sender_id(n.person)}: {n.payload.get('tier')} {n.payload.get('code')}"
            for n in notices
        ]
        return "\n".join(lines) + "\n\n"

    def _page_text(self, queue: QueuePage) -> str:
        n, people = queue.waiting, queue.participants
        lines = [
            f"{n} stor{'y waits' if n == 1 else 'ies wait'} for the judges ({people} participant"
            f"{'' if people == 1 else 's'}), oldest first · page {queue.page} of {queue.pages}:"
        ]
        lines += [self._entry(group) for group in queue.groups]
        if queue.page < queue.pages:
            lines.append(f"\nNext: `review {queue.page + 1}` (or `review more`).")
        lines.append("\napprove ID (the judge's score stands) · reject ID [reason] (the given tier stays)")
        return "\n".join(lines)

    def _entry(self, group: WaitingGroup) -> str:
        """One participant: their oldest story (the story on one line, its newlines shown), their others' ids."""
        review = group.first
        story = marked(review.story, review.passages)
        if len(story) > STORY_EXCERPT_CHARS:
            story = story[:STORY_EXCERPT_CHARS] + "…"
        text = (
            f"\n{review.id} · gave {review.given_tier} (score {review.given_score}) · "
            f"{self.policy.judge_line(review)} · {review.why} · participant {sender_id(review.person)}\n"
            f"  {shown(story)}"
        )
        if group.more:
            ids = ", ".join(other.id for other in group.more)
            text += f"\n  +{len(group.more)} more from the same participant, oldest first: {ids}"
        return text

    async def approve(self, review_id: str, by: str) -> str:
        if not review_id.strip():
            return "Usage: approve ID (the ids are in `review`)"
        policy, make_code = self.policy, self.signer.new_code
        decision = await self.ledger.write(
            lambda ledger: ledger.reviews.approve(review_id, by, policy.for_approval, make_code)
        )
        refused = self._not_done(decision, review_id)
        if refused:
            return refused
        review = decision.review
        assert review is not None
        if decision.upgraded is None:
            log.warning("organizer=%s approved review %s: no upgrade (%s)", sender_id(by), review.id, decision.why_not)
            return f"Approved {review.id}: no upgrade ({decision.why_not}); the {review.given_tier} code stays."
        old, new = decision.upgraded
        log.warning(
            "organizer=%s approved review %s: sender=%s %s -> %s (old code voided)",
            sender_id(by),
            review.id,
            sender_id(review.person),
            old.tier,
            new.tier,
        )
        return (
            f"Approved {review.id}: participant {sender_id(review.person)} upgraded {old.tier} → {new.tier} "
            f"(old code voided); their new code goes to the chat the coupon was issued in (`status` shows a "
            "message that could not be delivered)."
        )

    async def reject(self, args: str, by: str) -> str:
        review_id, _, note = args.strip().partition(" ")
        if not review_id:
            return "Usage: reject ID [reason] (the ids are in `review`)"
        note = note.strip() or "rejected"
        decision = await self.ledger.write(lambda ledger: ledger.reviews.reject(review_id, by, note))
        refused = self._not_done(decision, review_id)
        if refused:
            return refused
        review = decision.review
        assert review is not None
        log.warning(
            "organizer=%s rejected review %s (sender=%s): %s", sender_id(by), review.id, sender_id(review.person), note
        )
        return f"Rejected {review.id}: the {review.given_tier} coupon stays. Reason noted: {note}"

    @staticmethod
    def _not_done(decision: ReviewDecision, review_id: str) -> str | None:
        review = decision.review
        if review is None:
            return f"No review {review_id.strip().upper()!r} (the ids are in `review`)."
        if not decision.done:
            return f"Review {review.id} was already {review.state} by {sender_id(review.decided_by or '?')}."
        return None


SendToChat = Callable[[Chat, str], Awaitable[bool]]


def notice_text(content: StaticContent, notice: Notice) -> str:
    """What an upgrade notice says: a judge's approval, or ASI1 scoring again."""
    if notice.kind == "granted":
        return content.message("granted", tier=notice.payload["tier"], code=notice.payload["code"])
    payload = {key: notice.payload[key] for key in ("score", "tier", "code", "old")}
    return content.message("upgraded" if notice.payload.get("source") == "asi1" else "approved_upgrade", **payload)


async def deliver_outbox(
    worker: LedgerWorker, content: StaticContent, send: SendToChat, default_language: str = BASE_LANGUAGE
) -> int:
    """Send what decisions owe people (a new code) to the chat their coupon was issued in. A notice is marked
    delivered only when the framework says so (the peer took it, or the mailbox queued it); otherwise it is
    tried again with back-off, and in the end shown as not delivered (`status`, `review`, the dashboard).
    Each is said in the language the person was last answered in (`default_language` when none is on record:
    an event of one language keeps none). Returns how many were delivered."""
    notices = await worker.read(lambda ledger: ledger.reviews.notices_to_send())
    delivered = 0
    for notice in notices:
        spoken = await worker.read(lambda ledger, person=notice.person: ledger.state.language_of(person))
        with speaking(spoken[0] if spoken else default_language):
            text = notice_text(content, notice)
        ok = bool(notice.chat.sender) and await send(notice.chat, text)
        if ok:
            await worker.write(lambda ledger, sent=notice.id: ledger.reviews.notice_sent(sent))
            log.warning("delivered person=%s their new %s code", sender_id(notice.person), notice.payload.get("tier"))
            delivered += 1
            continue
        gave_up = await worker.write(lambda ledger, n=notice: ledger.reviews.notice_not_delivered(n))
        log.warning(
            "new code for person=%s not delivered (try %d)%s",
            sender_id(notice.person),
            notice.attempts + 1,
            ": given up, shown as not delivered" if gave_up else ", tried again later",
        )
    return delivered
