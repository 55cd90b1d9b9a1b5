"""Several replicas on one PostgreSQL ledger: who is active (the lease), the organizer's switches
pushed to every replica (LISTEN/NOTIFY), and the providers' breakers handed over at a takeover.

Built on the ledger's database (its tables and URL), outside the ledger itself.
"""
