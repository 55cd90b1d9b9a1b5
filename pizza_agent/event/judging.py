"""The judges' desk: what software could not settle, put before a human, from chat and from the dashboard.

`review` lists what waits (short id, the tier given, the judge's uncapped score,
the suspected passages marked «like this»); `approve ID` lets the judge's
uncapped score stand (a new code of the higher tier, the old one voided, the
participant told); `reject ID [reason]` keeps the capped tier. Each decision is
taken once, whoever asks and on whichever replica (ledger/reviews.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.reply import sender_id
from pizza_agent.domain.tiers import tier_for
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.reviews import Decision, Review
from pizza_agent.ledger.worker import LedgerWorker

log = logging.getLogger("pizza.judges")

# How much of a story `review` shows in chat (the dashboard shows it whole).
STORY_EXCERPT_CHARS = 400
REVIEWS_LISTED = 10


def marked(story: str, passages: list[str]) -> str:
    """The story with each suspected passage between « and »."""
    for passage in sorted(set(passages), key=len, reverse=True):
        if passage and f"«{passage}»" not in story:
            story = story.replace(passage, f"«{passage}»")
    return story


class JudgesDesk:
    def __init__(self, settings: Settings, ledger: LedgerWorker, signer: CouponSigner) -> None:
        self.settings = settings
        self.ledger = ledger
        self.signer = signer

    async def waiting(self) -> list[Review]:
        return await self.ledger.read(lambda ledger: ledger.reviews.waiting())

    async def waiting_as_data(self) -> list[dict[str, object]]:
        """For the dashboard: every waiting item, the story whole (the page escapes it)."""
        items = []
        for review in await self.waiting():
            item = asdict(review)
            item["participant"] = sender_id(item.pop("address"))
            item["judge_tier"] = tier_for(review.judge_score, self.settings)
            items.append(item)
        return items

    async def review_text(self) -> str:
        waiting = await self.waiting()
        if not waiting:
            return "Nothing waits for the judges."
        lines = [f"{len(waiting)} stor{'y waits' if len(waiting) == 1 else 'ies wait'} for the judges:"]
        for review in waiting[:REVIEWS_LISTED]:
            judge_tier = tier_for(review.judge_score, self.settings)
            story = marked(review.story, review.passages)
            if len(story) > STORY_EXCERPT_CHARS:
                story = story[:STORY_EXCERPT_CHARS] + "…"
            lines.append(
                f"\n{review.id} · gave {review.given_tier} (score {review.given_score}) · judge's uncapped score "
                f"{review.judge_score} → {judge_tier} · {review.why} · participant {sender_id(review.address)}\n"
                f"  {story}"
            )
        if len(waiting) > REVIEWS_LISTED:
            lines.append(f"\n…and {len(waiting) - REVIEWS_LISTED} more (the dashboard lists them all).")
        lines.append("\napprove ID (the judge's score stands) · reject ID [reason] (the given tier stays)")
        return "\n".join(lines)

    async def approve(self, review_id: str, by: str) -> str:
        if not review_id.strip():
            return "Usage: approve ID (the ids are in `review`)"
        settings, make_code = self.settings, self.signer.new_code

        def tier_of(score: int) -> str:
            return tier_for(score, settings)

        decision = await self.ledger.write(
            lambda ledger: ledger.reviews.approve(review_id, by, tier_of, make_code, settings.tier_caps)
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
            sender_id(review.address),
            old.tier,
            new.tier,
        )
        return (
            f"Approved {review.id}: participant {sender_id(review.address)} upgraded {old.tier} → {new.tier} "
            f"(old code voided); they are sent their new code."
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
            "organizer=%s rejected review %s (sender=%s): %s", sender_id(by), review.id, sender_id(review.address), note
        )
        return f"Rejected {review.id}: the {review.given_tier} coupon stays. Reason noted: {note}"

    @staticmethod
    def _not_done(decision: Decision, review_id: str) -> str | None:
        review = decision.review
        if review is None:
            return f"No review {review_id.strip().upper()!r} (the ids are in `review`)."
        if not decision.done:
            return f"Review {review.id} was already {review.state} by {sender_id(review.decided_by or '?')}."
        return None


async def deliver_outbox(
    worker: LedgerWorker, content: StaticContent, send: Callable[[str, str], Awaitable[object]]
) -> int:
    """Send what decisions owe participants (an approved story's new code); each marked sent after it went."""
    notices = await worker.read(lambda ledger: ledger.reviews.notices_to_send())
    for notice in notices:
        await send(notice.address, content.message("approved_upgrade", **notice.payload))
        await worker.write(lambda ledger, sent=notice.id: ledger.reviews.notice_sent(sent))
        log.warning("sent sender=%s the upgrade an organizer approved", sender_id(notice.address))
    return len(notices)
