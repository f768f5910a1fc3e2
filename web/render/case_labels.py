"""What the casebook pages call statuses, urgencies, kinds and steps: one table, translated once
per language (templates look labels up instead of building them per row)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from aiohttp import web

from web.app.keys import I18N
from web.render.context import request_locale
from web.render.i18n import I18n


def N_(message: str) -> str:
    """Mark `message` for translation; it is translated when a page is rendered."""
    return message


STATUS = {
    "draft": N_("Draft"),
    "submitted": N_("Submitted"),
    "information_requested": N_("Information requested"),
    "accepted": N_("Accepted"),
    "scheduled": N_("Scheduled"),
    "discussed": N_("Discussed"),
    "recommendation_issued": N_("Recommendation issued"),
    "closed": N_("Closed"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}
URGENCY = {"urgent": N_("Urgent"), "priority": N_("Priority"), "routine": N_("Routine")}
SEX = {"female": N_("Female"), "male": N_("Male"), "undetermined": N_("Undetermined")}
KIND = {
    "consultation": N_("Interconsultation"),
    "board": N_("Tumor board"),
    "lecture": N_("Academic session"),
}
STEP = {
    "case.created": N_("Draft created"),
    "case.submit": N_("Submitted to the network"),
    "case.request_information": N_("Information requested"),
    "case.answer_information": N_("Information sent"),
    "case.accept": N_("Accepted for review"),
    "case.reject": N_("Not accepted"),
    "case.schedule": N_("Scheduled in a review session"),
    "case.unschedule": N_("Taken off a session's agenda"),
    "case.mark_discussed": N_("Discussed in session"),
    "case.issue_recommendation": N_("Recommendation issued"),
    "case.close": N_("Closed"),
    "case.withdraw": N_("Withdrawn"),
}
TABLES = {"status": STATUS, "urgency": URGENCY, "sex": SEX, "kind": KIND, "step": STEP}


def labels(request: web.Request) -> Mapping[str, Mapping[str, str]]:
    """Every label table in the request's language."""
    return _translated(request.app[I18N], request_locale(request))


@lru_cache(maxsize=16)
def _translated(i18n: I18n, locale: str) -> Mapping[str, Mapping[str, str]]:
    # The catalogs do not change once the app is built: each table is translated once per
    # language, not on every page (read-only views, shared by every request).
    return MappingProxyType({
        name: MappingProxyType({key: i18n.gettext(locale, text) for key, text in table.items()})
        for name, table in TABLES.items()
    })
