"""The badge's QR code as SVG, drawn in pure Python (segno), so the app needs no image service."""

from __future__ import annotations

import io

import segno

# Printed or on a phone screen, the code is read from arm's length; medium error correction (15 %) tolerates
# glare and a cracked screen without making the code dense.
ERROR_LEVEL = "m"
SCALE = 8  # user units per module; the SVG scales anyway
BORDER = 4  # the quiet zone the QR standard asks for


def qr_svg(text: str) -> str:
    """An SVG document of ``text`` as a QR code (dark modules on white)."""
    code = segno.make(text, error=ERROR_LEVEL, micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=SCALE, border=BORDER, xmldecl=False, dark="#000", light="#fff")
    return buffer.getvalue().decode()
