"""Whole numbers read from requests, forms and the command line: the digits 0-9 and nothing else.

Python's `int()` parses any script's decimal digits ("１２" is 12, "٣" is 3), `str.isdigit()` is
true for superscripts that `int()` then refuses ("²"), and `int()` refuses ASCII numbers longer
than 4300 digits. A check with one and a parse with the other lets look-alike input through or
turns it into a server error, so every number a person or a client sends is read here.
"""

from __future__ import annotations

import re

# [0-9], not \d: \d matches every script's decimal digits.
_DIGITS = re.compile(r"[0-9]{1,18}")


def parse_ascii_int(raw: object, low: int, high: int) -> int | None:
    """`raw` as an int if it is a string of ASCII digits with a value in [low, high], else None."""
    if not isinstance(raw, str) or _DIGITS.fullmatch(raw) is None:
        return None
    value = int(raw)
    return value if low <= value <= high else None
