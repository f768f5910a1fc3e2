"""Public case codes, `JC-2026-000123`: the year of referral and a six-digit number within it.

Codes are what people say on the phone and type into search boxes, so they are fixed-width (they
sort as text in the order they were issued) and parsing forgives case and surrounding spaces but
nothing else. The code carries no patient data.
"""

from __future__ import annotations

import re

PREFIX = "JC"
MIN_YEAR, MAX_YEAR = 2000, 9999
MAX_NUMBER = 999_999  # six digits; far above a network's yearly referrals
# [0-9], not \d: \d also matches other scripts' digits ("٣"), which int() would happily accept.
_CODE = re.compile(rf"{PREFIX}-([0-9]{{4}})-([0-9]{{6}})", re.IGNORECASE)


def format_case_code(year: int, number: int) -> str:
    """The public code of case `number` of `year`, e.g. `format_case_code(2026, 123)`."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"case code year must be between {MIN_YEAR} and {MAX_YEAR}, got {year}")
    if not 1 <= number <= MAX_NUMBER:
        raise ValueError(f"case code number must be between 1 and {MAX_NUMBER}, got {number}")
    return f"{PREFIX}-{year:04d}-{number:06d}"


def parse_case_code(text: str) -> tuple[int, int]:
    """`(year, number)` from a code like `JC-2026-000123`; raises ValueError if it is not one."""
    match = _CODE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"not a case code: {text[:40]!r} (expected {PREFIX}-YYYY-NNNNNN, e.g. JC-2026-000123)"
        )
    year, number = int(match[1]), int(match[2])
    if year < MIN_YEAR:
        raise ValueError(f"case code year must be {MIN_YEAR} or later, got {year}")
    if number == 0:
        raise ValueError("case code numbers start at 000001")
    return year, number
