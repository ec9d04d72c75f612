"""Text from the warehouse made safe to show a person: no bidirectional control characters.

A right-to-left override (U+202E) or isolate in an account name or an alert reason reorders
what a reader sees ("Trojan Source"-style spoofing: "invoice", U+202E, "fdp.exe" is shown as
"invoiceexe.pdf"). Mail bodies and one-line fields pass through :func:`strip_bidi_controls`:
one small function, so the alert renderer (``kam_transforms.alerts``) and any other writer
of text for people can call it.
"""

from __future__ import annotations

import re

__all__ = ["BIDI_CONTROLS", "strip_bidi_controls"]

#: Unicode's bidirectional formatting characters (UAX #9): ALM, LRM, RLM, the embeddings and
#: overrides LRE RLE PDF LRO RLO, and the isolates LRI RLI FSI PDI.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def strip_bidi_controls(text: str) -> str:
    """``text`` without any bidirectional control character (everything else unchanged)."""
    return _BIDI.sub("", text)
