"""What a code is worth at the food table: one check shared by `agent.py verify/redeem` and organizer commands.

A generated code must carry a valid signature *and* be on record; a vendor pool
code carries no signature, so the ledger alone decides. Redemption is the
ledger's one transaction, so it happens exactly once wherever it is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

from pizza_agent.domain.identity import CouponOwner
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import Coupon, CouponBook


class CodeState(IntEnum):
    """Also the exit codes of `agent.py verify` and `redeem` (2 is taken by configuration errors)."""

    VALID = 0
    INVALID = 1
    ALREADY_REDEEMED = 3
    VOIDED = 4
    WRONG_MEAL = 5


@dataclass(frozen=True)
class TableMeal:
    """The meal a table serves (EVENT_PLAN): a coupon of another meal is refused, naming its meal."""

    id: str  # "" when no meal is served at all
    names: Mapping[str, str] = field(default_factory=dict)  # meal id -> its name

    def name(self, meal_id: str) -> str:
        return self.names.get(meal_id, meal_id or "no meal")


@dataclass(frozen=True)
class CodeCheck:
    state: CodeState
    line: str  # one line for a person at the table
    coupon: Coupon | None = None
    upgraded_to: str | None = None  # a replaced code whose person holds a higher tier's code now


def when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_code(book: CouponBook, signer: CouponSigner, raw: str, meal: TableMeal | None = None) -> CodeCheck:
    code = raw.strip()
    signature = signer.check(code)
    if signature.well_formed:
        code = code.upper()
        if not signature.authentic:
            return CodeCheck(
                CodeState.INVALID, f"INVALID {code}: the code's signature does not match (altered or made up)"
            )
    coupon = book.find(code)
    if coupon is None:
        replaced = book.replaced_code(code)
        if replaced is not None:
            person, tier, voided_at, reason, meal_id = replaced
            now = book.coupon_for(CouponOwner(person, meal_id))
            if reason.startswith("replaced by") and now is not None and now.voided_at is None and now.code != code:
                # An upgrade: the person has a newer code (its message may not have reached them yet).
                line = (
                    f"UPGRADED {tier} coupon {code} at {when(voided_at)}: replaced by a {now.tier} code; "
                    "ask for the new code (an organizer's `lookup` shows it)"
                )
                return CodeCheck(CodeState.VOIDED, line, upgraded_to=now.tier)
            return CodeCheck(CodeState.VOIDED, f"VOIDED {tier} coupon {code} at {when(voided_at)}: {reason}")
        return CodeCheck(CodeState.INVALID, f"INVALID {code}: no such code was issued")
    if coupon.voided_at is not None:
        line = (
            f"VOIDED {coupon.tier} coupon {coupon.code} at {when(coupon.voided_at)}: {coupon.void_reason or 'voided'}"
        )
        return CodeCheck(CodeState.VOIDED, line, coupon)
    if coupon.redeemed_at is not None:
        line = (
            f"ALREADY REDEEMED {coupon.tier} coupon {coupon.code}, issued {when(coupon.issued_at)}, "
            f"redeemed {when(coupon.redeemed_at)}"
        )
        return CodeCheck(CodeState.ALREADY_REDEEMED, line, coupon)
    if meal is not None and coupon.meal != meal.id:
        serving = f"now serving {meal.name(meal.id)}" if meal.id else "no meal is being served now"
        line = f"REFUSED {coupon.code}: this coupon is for {meal.name(coupon.meal)}; {serving}"
        return CodeCheck(CodeState.WRONG_MEAL, line, coupon)
    diet = f" · {coupon.diet}" if coupon.diet else ""
    line = f"VALID {coupon.tier} coupon {coupon.code}{diet}, issued {when(coupon.issued_at)}, not yet redeemed"
    return CodeCheck(CodeState.VALID, line, coupon)


def redeem_code(book: CouponBook, signer: CouponSigner, raw: str, meal: TableMeal | None = None) -> CodeCheck:
    """Redeem once: VALID means redeemed by this call; anyone else gets ALREADY_REDEEMED with the time."""
    checked = check_code(book, signer, raw, meal)
    if checked.state is CodeState.VALID and checked.coupon is not None:
        coupon, newly = book.redeem(checked.coupon.code)
        if coupon is None:
            return CodeCheck(CodeState.INVALID, f"INVALID {checked.coupon.code}: no such code was issued")
        if not newly:  # redeemed (or voided) a moment ago, at another table
            checked = check_code(book, signer, coupon.code, meal)
    if checked.state is not CodeState.VALID or checked.coupon is None:
        if checked.state is CodeState.ALREADY_REDEEMED and checked.coupon and checked.coupon.redeemed_at:
            line = f"REFUSED {checked.coupon.code}: already redeemed {when(checked.coupon.redeemed_at)}"
            return CodeCheck(checked.state, line, checked.coupon)
        return checked
    assert coupon.redeemed_at is not None
    diet = f" · {coupon.diet}" if coupon.diet else ""
    return CodeCheck(
        CodeState.VALID, f"REDEEMED {coupon.tier} coupon {coupon.code}{diet} at {when(coupon.redeemed_at)}", coupon
    )
