"""Whether a case's text refers the reader to a document ("ver resumen adjunto", "see attached").

A referrer who writes that and forgets the file sends the board a case it cannot judge; the case
page warns (it does not refuse: the words may refer to something sent another way). Pure.
"""

from __future__ import annotations

import re

# Spanish and English words that point at an attached or annexed document, whole words only
# ("adjunto" and its forms, "anexo", "attached"), so "anexión" or "attachment style" do not count.
_MENTION = re.compile(
    r"\b(?:adjunt[oa]s?|anex[oa]s?|anexad[oa]s?|see\s+attached|attached|enclosed)\b",
    re.IGNORECASE,
)


def mentions_an_attachment(*texts: str | None) -> bool:
    """Whether any of `texts` refers to an attached document."""
    return any(_MENTION.search(text) for text in texts if text)
