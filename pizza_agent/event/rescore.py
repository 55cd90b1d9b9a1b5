"""Stories the local heuristic scored are scored again by ASI1 when it is back: upgrades only.

While ASI1 is down the heuristic keeps the event going, capped (HEURISTIC_MAX_TIER). Each
such story waits in the ledger, under its coupon's person and meal; once ASI1 answers again,
it is scored the real way and the grant policy (event/grants.py) says what that earns — the
meal's caps, and REVIEW_PREMIUM (a premium waits for a human, as a new story's would). A
higher tier replaces the code (the old one voided in the same transaction) and the person is
told in the chat the coupon was issued in, through the outbox — never a downgrade, and never
for a code already redeemed (that pizza has been eaten).
"""

from __future__ import annotations

import logging
from enum import Enum

from pizza_agent.domain.identity import CouponOwner
from pizza_agent.domain.reply import sender_id
from pizza_agent.domain.tiers import TIERS
from pizza_agent.event.grants import GrantPolicy
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService

log = logging.getLogger("pizza.rescore")

# Stories scored again per round (each is one ASI1 call; the round runs every RESCORE_SECONDS).
RESCORE_BATCH = 10


class RescoreOutcome(Enum):
    KEPT = "kept"
    UPGRADED = "upgraded"
    ASI1_FAILED = "asi1 failed"


class Rescorer:
    def __init__(self, policy: GrantPolicy, llm: LLMService, ledger: LedgerWorker, signer: CouponSigner) -> None:
        self.policy, self.llm, self.ledger, self.signer = policy, llm, ledger, signer

    @property
    def asi1_back(self) -> bool:
        return self.llm.asi1_health.would_admit()

    async def run_once(self) -> int:
        """Score waiting stories again while ASI1 answers; returns how many were upgraded."""
        upgraded = 0
        for owner, story in await self.ledger.read(lambda ledger: ledger.state.waiting_rescores(RESCORE_BATCH)):
            if not self.asi1_back:
                break
            outcome = await self._rescore(owner, story)
            if outcome is RescoreOutcome.ASI1_FAILED:
                break  # the story waits for the next round
            upgraded += outcome is RescoreOutcome.UPGRADED
        return upgraded

    async def _rescore(self, owner: CouponOwner, story: str) -> RescoreOutcome:
        if not await self.ledger.write(lambda ledger: ledger.state.claim_rescore(owner)):
            return RescoreOutcome.KEPT  # another replica is scoring it
        coupon = await self.ledger.read(lambda ledger: ledger.coupons.coupon_for(owner))
        if coupon is None or coupon.redeemed_at is not None or coupon.voided_at is not None:
            return await self._finish(owner, "coupon redeemed or voided: kept")
        scored = (await self.llm.score_story(story)).value
        if scored.source != "asi1":
            await self.ledger.write(lambda ledger: ledger.state.release_rescore(owner))
            return RescoreOutcome.ASI1_FAILED
        grant = self.policy.for_rescore(story, scored, owner.meal)
        if TIERS.index(grant.tier) >= TIERS.index(coupon.tier) and grant.review is None:
            return await self._finish(owner, f"asi1 scored {scored.score}: kept {coupon.tier}")
        swapped, review_id = await self.ledger.write(
            lambda ledger: ledger.reviews.rescored(
                owner, grant.tier, scored.score, scored.reason, self.signer.new_code, grant.caps, grant.review
            )
        )
        waits = f", review {review_id} waits for a human" if review_id else ""
        if swapped is None:
            return await self._finish(owner, f"asi1 scored {scored.score}: kept {coupon.tier}{waits}")
        old, new = swapped
        await self._finish(owner, f"upgraded {old.tier} -> {new.tier}{waits}")
        log.warning(
            "upgrade person=%s %s -> %s after ASI1 scored %d (old code voided, the chat is told)%s",
            sender_id(owner.person),
            old.tier,
            new.tier,
            new.score,
            waits,
        )
        return RescoreOutcome.UPGRADED

    async def _finish(self, owner: CouponOwner, outcome: str) -> RescoreOutcome:
        await self.ledger.write(lambda ledger: ledger.state.finish_rescore(owner, outcome))
        return RescoreOutcome.KEPT
