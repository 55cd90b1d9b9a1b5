"""The event's vocabulary: tiers, scores, the reply type, the participant-facing words and the reading of a message.

Every other room speaks these words; this room imports nothing of ours, so the
ledger can name a tier without knowing that a model exists.
"""
