"""People, not addresses: the registration roster, badge claim codes, and whose message this is.

- `claim_codes.py`: the code on each badge, derived with a key from COUPON_SECRET (never stored in clear).
- `roster_csv.py`: a registration export (Luma, Eventbrite, Devpost, a form) read into attendees.
- `identity.py`: which attendee a message belongs to (claim code, chat session, sender).
- `badges.py`: the print-ready badge page and the codes CSV for a mail merge.
"""
