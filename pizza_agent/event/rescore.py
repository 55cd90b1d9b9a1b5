"""Stories the local heuristic scored are scored again by ASI1 when it is back: upgrades only.

While ASI1 is down the heuristic keeps the event going, capped below premium.
Each such story waits in the ledger; once ASI1 answers again, it is scored the
real way. If that earns a higher tier, the participant gets a follow-up chat
message with the new code and the old one is voided — never a downgrade, and
never for a code already redeemed (that pizza has been eaten).

"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from enum import Enum

from pizza_agent.config.settings import Settings
from pizza_agent.domain.reply import sender_id
from pizza_agent.domain.tiers import TIERS, tier_for
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService

log = logging.getLogger("pizza.rescore")

Notify = Callable[[str, str], Awaitable[object]]
# Stories scored again per round (each is one ASI1 call; the round runs every RESCORE_SECONDS).
RESCORE_BATCH = 10


class Outcome(Enum):
    KEPT = "kept"
    UPGRADED = "upgraded"
    ASI1_FAILED = "asi1 failed"


class Rescorer:
    def __init__(self, settings: Settings, llm: LLMService, ledger: LedgerWorker, signer: CouponSigner) -> None:
        self.settings, self.llm, self.ledger, self.signer = settings, llm, ledger, signer

    @property
    def asi1_back(self) -> bool:
        return self.llm.asi1_health.would_admit()

    async def run_once(self, notify: Notify) -> int:
        """Score waiting stories again while ASI1 answers; returns how many were upgraded."""
        upgraded = 0
        for address, story in await self.ledger.read(lambda ledger: ledger.state.waiting_rescores(RESCORE_BATCH)):
            if not self.asi1_back:
                break
            outcome = await self._rescore(address, story, notify)
            if outcome is Outcome.ASI1_FAILED:
                break  # the story waits for the next round
            upgraded += outcome is Outcome.UPGRADED
        return upgraded

    async def _rescore(self, address: str, story: str, notify: Notify) -> Outcome:
        if not await self.ledger.write(lambda ledger: ledger.state.claim_rescore(address)):
            return Outcome.KEPT  # another replica is scoring it
        coupon = await self.ledger.read(lambda ledger: ledger.coupons.coupon_for(address))
        if coupon is None or coupon.redeemed_at is not None or coupon.voided_at is not None:
            return await self._finish(address, "coupon redeemed or voided: kept")
        scored = (await self.llm.score_story(story)).value
        if scored.source != "asi1":
            await self.ledger.write(lambda ledger: ledger.state.release_rescore(address))
            return Outcome.ASI1_FAILED
        tier = tier_for(scored.score, self.settings)
        if TIERS.index(tier) >= TIERS.index(coupon.tier):
            return await self._finish(address, f"asi1 scored {scored.score}: kept {coupon.tier}")
        caps = self.settings.tier_caps
        swapped = await self.ledger.write(
            lambda ledger: ledger.coupons.upgrade(
                address, tier, scored.score, scored.reason, self.signer.new_code, caps
            )
        )
        if swapped is None:
            return await self._finish(address, f"asi1 scored {scored.score}: no {tier} code left, kept")
        old, new = swapped
        await self._finish(address, f"upgraded {old.tier} -> {new.tier}")
        log.warning(
            "upgrade sender=%s %s -> %s after ASI1 scored %d (old code voided)",
            sender_id(address),
            old.tier,
            new.tier,
            new.score,
        )
        await notify(
            address, self.llm.content.message("upgraded", score=new.score, tier=new.tier, code=new.code, old=old.code)
        )
        return Outcome.UPGRADED

    async def _finish(self, address: str, outcome: str) -> Outcome:
        await self.ledger.write(lambda ledger: ledger.state.finish_rescore(address, outcome))
        return Outcome.KEPT
