"""How long to wait, in plain words ("15 minutos", "4 minutes 45 seconds"), for refusal pages.

Pure: the locale's `ngettext` is a parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable

NGettext = Callable[[str, str, int], str]


def wait_parts(seconds: float) -> tuple[int, int, int]:
    """(hours, minutes, seconds) to tell someone who must wait `seconds`, never less.

    Under ten minutes the seconds are told; past that only whole minutes, rounded up (a lock of
    15 minutes reads "15 minutes", not "14 minutes 59 seconds").
    """
    whole = max(1, math.ceil(seconds))
    if whole >= 600:
        whole = math.ceil(whole / 60) * 60
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return hours, minutes, secs


def wait_in_words(seconds: float, ngettext: NGettext) -> str:
    """`seconds` as words in the language of `ngettext`: "1 hour 30 minutes", "45 seconds"."""
    hours, minutes, secs = wait_parts(seconds)
    words = []
    if hours:
        words.append(ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours})
    if minutes:
        words.append(ngettext("%(num)d minute", "%(num)d minutes", minutes) % {"num": minutes})
    if secs:
        words.append(ngettext("%(num)d second", "%(num)d seconds", secs) % {"num": secs})
    return " ".join(words)
