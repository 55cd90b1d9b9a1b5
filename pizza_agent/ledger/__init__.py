"""The coupon ledger (exactly one coupon per participant, crash-safe) and signed coupon codes.

One connection (`database.py`, SQLite or PostgreSQL, migrations in `schema.py`)
shared by repositories that each own their tables (`coupons.py`,
`conversation_state.py`, `bookkeeping.py`, `controls.py`), held together by
`store.Ledger` and run off the event loop by `worker.LedgerWorker`.
"""
