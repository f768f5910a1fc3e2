"""The rows of the coordinators' queue page, written as HTML once, here.

The queue is the coordinators' busiest page: fifty rows of a dozen values. Printed by Jinja,
each value of each row cost an attribute lookup, an escape and a string yielded through two
template generators (the page and its base), and the rows were more than half the page's
rendering. Here each row is one format of a fixed pattern; every value that goes into it is
escaped with the standard library's `html.escape`, the fixed words are translated and escaped
once per page, and the page prints the rows as one `Markup`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from markupsafe import Markup

from casebook.queue import QueueRow
from web.page_routes import local_time

ROW = (
    '<tr class="{overdue}" data-case="{code}">'
    '<td><a href="/cases/{code}">{code}</a></td>'
    '<td><span class="urgency urgency-{urgency}">{urgency_label}</span></td>'
    '<td><span class="status status-{status}">{status_label}</span></td>'
    "<td>{diagnosis} ({icd10})</td>"
    "<td>{center}</td>"
    "<td>{waiting}</td>"
    "<td>{due}{flag}</td>"
    "<td>{action}</td>"
    "</tr>\n"
)
# What a coordinator can do next with the case, by its status.
TICK = (
    '<label class="tick"><input type="checkbox" name="case" value="{code}" '
    'form="schedule-form"> {text}</label>'
)
PLAN = '<a href="/sessions/new">{text}</a>'
TRIAGE = '<a class="button" href="/cases/{code}#next-title">{text}</a>'
WAITING_FOR_REFERRER = '<span class="meta">{text}</span>'
FLAG = ' <strong class="flag-overdue">{text}</strong>'


def queue_rows(
    rows: Iterable[QueueRow], *, labels: Mapping[str, Mapping[str, str]], scheduling: bool
) -> Markup:
    """The `<tr>` of each row; `labels` are the page's translated label tables (`status`,
    `urgency` and `queue`); `scheduling`: the page has a form to tick accepted cases for."""
    words = {key: escape(text) for key, text in labels["queue"].items()}
    statuses = {key: escape(text) for key, text in labels["status"].items()}
    urgencies = {key: escape(text) for key, text in labels["urgency"].items()}
    accepted = TICK if scheduling else PLAN
    flag = FLAG.format(text=words["overdue"])
    lines = []
    for row in rows:
        case, entry = row.case, row.entry
        code, status, urgency = escape(case.code), escape(case.status), escape(case.urgency)
        if case.status == "accepted":
            action = accepted.format(code=code, text=words["tick" if scheduling else "plan"])
        elif case.status == "submitted":
            action = TRIAGE.format(code=code, text=words["triage"])
        else:
            action = WAITING_FOR_REFERRER.format(text=words["waiting_for_referrer"])
        waited = entry.waiting
        lines.append(
            ROW.format(
                overdue="overdue" if entry.overdue else "",
                code=code,
                urgency=urgency,
                urgency_label=urgencies.get(case.urgency, urgency),
                status=status,
                status_label=statuses.get(case.status, status),
                diagnosis=escape(case.diagnosis),
                icd10=escape(case.icd10_code),
                center=escape(case.referring_center_name),
                waiting=words["waiting"] % {"days": waited.days, "hours": waited.seconds // 3600},
                due=escape(local_time(entry.due_at)),
                flag=flag if entry.overdue else "",
                action=action,
            )
        )
    return Markup("".join(lines))  # every value above is escaped
