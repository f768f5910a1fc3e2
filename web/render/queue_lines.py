"""The rows of the coordinators' queue page, written as HTML once, here.

The queue is the coordinators' busiest page: fifty rows of a dozen values. Printed by Jinja,
each value of each row cost an attribute lookup, an escape and a string yielded through two
template generators (the page and its base), and the rows dominated the page's rendering.
Here each row is one format of a fixed pattern; every value that goes into it is
escaped with the standard library's `html.escape`, the fixed words are translated and escaped
once per page, and the page prints the rows as one `Markup`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from markupsafe import Markup

from casebook.queue import QueueRow
from web.http.page_routes import local_time

# One row; its values, in order: overdue class, code (three times), urgency, urgency label,
# status, status label, diagnosis, ICD-10, center, waiting, due time, overdue flag, action.
# (Positional %-formatting: cheaper than `str.format` with names, on every row.)
ROW = (
    '<tr class="%s" data-case="%s">'
    '<td><a href="/cases/%s">%s</a></td>'
    '<td><span class="urgency urgency-%s">%s</span></td>'
    '<td><span class="status status-%s">%s</span></td>'
    "<td>%s (%s)</td>"
    "<td>%s</td>"
    "<td>%s</td>"
    "<td>%s%s</td>"
    "<td>%s</td>"
    "</tr>\n"
)
# What a coordinator can do next with the case, by its status.
TICK = (
    '<label class="tick"><input type="checkbox" name="case" value="%s" '
    'form="schedule-form"> %s</label>'
)
PLAN = '<a href="/sessions/new">%s</a>'
TRIAGE = '<a class="button" href="/cases/%s#next-title">%s</a>'
WAITING_FOR_REFERRER = '<span class="meta">%s</span>'
FLAG = ' <strong class="flag-overdue">%s</strong>'


def queue_rows(
    rows: Iterable[QueueRow], *, labels: Mapping[str, Mapping[str, str]], scheduling: bool
) -> Markup:
    """The `<tr>` of each row; `labels` are the page's translated label tables (`status`,
    `urgency` and `queue`); `scheduling`: the page has a form to tick accepted cases for."""
    words = {key: escape(text) for key, text in labels["queue"].items()}
    statuses = {key: escape(text) for key, text in labels["status"].items()}
    urgencies = {key: escape(text) for key, text in labels["urgency"].items()}
    flag = FLAG % words["overdue"]
    waiting_for_referrer = WAITING_FOR_REFERRER % words["waiting_for_referrer"]
    # Centers and diagnoses repeat down a page: each distinct text is escaped once.
    escaped: dict[str, str] = {}

    def text(value: str) -> str:
        found = escaped.get(value)
        if found is None:
            found = escaped[value] = escape(value)
        return found

    lines = []
    for row in rows:
        case, entry = row.case, row.entry
        code, status, urgency = escape(case.code), text(case.status), text(case.urgency)
        if case.status == "accepted":
            action = TICK % (code, words["tick"]) if scheduling else PLAN % words["plan"]
        elif case.status == "submitted":
            action = TRIAGE % (code, words["triage"])
        else:
            action = waiting_for_referrer
        waited = entry.waiting
        lines.append(
            ROW
            % (
                "overdue" if entry.overdue else "",
                code, code, code,
                urgency, urgencies.get(case.urgency, urgency),
                status, statuses.get(case.status, status),
                text(case.diagnosis), text(case.icd10_code),
                text(case.referring_center_name),
                words["waiting"] % {"days": waited.days, "hours": waited.seconds // 3600},
                escape(local_time(entry.due_at)), flag if entry.overdue else "",
                action,
            )
        )
    return Markup("".join(lines))  # every value above is escaped
