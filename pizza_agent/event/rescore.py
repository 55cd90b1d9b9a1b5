"""Stories the local heuristic scored are scored again by ASI1 when it is back: upgrades only.

While ASI1 is down the heuristic keeps the event going, capped below premium.
Each such story waits in the ledger; once ASI1 answers again, it is scored the
real way. If that earns a higher tier, the participant gets a follow-up chat
message with the new code and the old one is voided — never a downgrade, and
never for a code already redeemed (that pizza has been eaten).

May import: pizza_agent.config, pizza_agent.llm, pizza_agent.ledger, pizza_agent.event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from pizza_agent.config.settings import Settings
from pizza_agent.event.reply import sender_id
from pizza_agent.event.tiers import tier_for
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import TIERS
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService

log = logging.getLogger("pizza.rescore")

Notify = Callable[[str, str], Awaitable[object]]
# Stories scored again per round (each is one ASI1 call; the round runs every RESCORE_SECONDS).
RESCORE_BATCH = 10


class Rescorer:
    def __init__(self, settings: Settings, llm: LLMService, ledger: LedgerWorker, signer: CouponSigner) -> None:
        self.settings, self.llm, self.ledger, self.signer = settings, llm, ledger, signer

    @property
    def asi1_back(self) -> bool:
        return self.llm.asi1_health.would_admit()

    async def run_once(self, notify: Notify) -> int:
        """Score waiting stories again while ASI1 answers; returns how many were upgraded."""
        upgraded = 0
        for address, story in await self.ledger.waiting_rescores(RESCORE_BATCH):
            if not self.asi1_back:
                break
            if not await self.ledger.claim_rescore(address):
                continue  # another replica is scoring it
            coupon = await self.ledger.coupon_for(address)
            if coupon is None or coupon.redeemed_at is not None or coupon.voided_at is not None:
                await self.ledger.finish_rescore(address, "coupon redeemed or voided: kept")
                continue
            scored = await self.llm.score_story(story)
            if scored.value.source != "asi1":
                await self.ledger.release_rescore(address)
                break  # ASI1 failed again: the story waits for the next round
            tier = tier_for(scored.value.score, self.settings)
            if TIERS.index(tier) >= TIERS.index(coupon.tier):
                await self.ledger.finish_rescore(address, f"asi1 scored {scored.value.score}: kept {coupon.tier}")
                continue
            swapped = await self.ledger.upgrade(
                address, tier, scored.value.score, scored.value.reason, self.signer.new_code, self.settings.tier_caps
            )
            if swapped is None:
                await self.ledger.finish_rescore(
                    address, f"asi1 scored {scored.value.score}: no {tier} code left, kept"
                )
                continue
            old, new = swapped
            await self.ledger.finish_rescore(address, f"upgraded {old.tier} -> {new.tier}")
            log.warning(
                "upgrade sender=%s %s -> %s after ASI1 scored %d (old code voided)",
                sender_id(address),
                old.tier,
                new.tier,
                new.score,
            )
            text = self.llm.content.message("upgraded", score=new.score, tier=new.tier, code=new.code, old=old.code)
            await notify(address, text)
            upgraded += 1
        return upgraded
