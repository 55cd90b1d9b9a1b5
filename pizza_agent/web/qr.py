"""QR images of coupon codes: what the participant's reply carries and the food table scans.

segno writes PNG without Pillow.
"""

from __future__ import annotations

import base64
import io

import segno


def qr_png(text: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_data_uri(text: str, scale: int = 6) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(text, scale)).decode()


def qr_matrix(text: str) -> list[list[bool]]:
    """The modules (True: dark), without the quiet zone: for pictures made in tests."""
    return [[bool(cell) for cell in row] for row in segno.make_qr(text, error="m").matrix]
