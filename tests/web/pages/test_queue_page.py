"""The queue page: every value of a row escaped, waiting and due times, the action each status
offers, the pager translated (the page's template rendered as the handler renders it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import casebook.models  # noqa: F401 (the mappers, before the listing's columns are read)
from casebook.case_listing import CaseSummary
from casebook.queue import QueueRow
from casebook.triage import QueueItem, Urgency, order_queue
from web.pages.queue import queue_line
from web.render.i18n import I18n

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MARKUP = '<img src=x onerror="x()"> & \'quoted\''
ESCAPED = "&lt;img src=x onerror=&#34;x()&#34;&gt; &amp; &#39;quoted&#39;"
LABELS = {
    "status": {"accepted": "Aceptado <b>", "submitted": "Enviado"},
    "urgency": {"urgent": "Urgente"},
}
SESSIONS = [{"id": 7, "title": "Sesión <script>", "starts": "2026-12-08 09:00 CST"}]


def summary(**changes: Any) -> CaseSummary:
    case = CaseSummary(
        id=1, code="JC-2026-000001", status="accepted", urgency="urgent", specialty=None,
        referring_center_id=1, referring_center_name="Hospital", patient_initials="ABC",
        patient_age_years=7, patient_age_months=0, patient_sex="female",
        diagnosis="Neuroblastoma", icd10_code="C74.9", submitted_at=NOW - timedelta(hours=50),
        updated_at=NOW,
    )
    return case._replace(**changes)


def row(case: CaseSummary, waited: timedelta = timedelta(hours=50)) -> QueueRow:
    item = QueueItem(case.id, Urgency(case.urgency), NOW - waited)
    (entry,) = order_queue([item], NOW)
    return QueueRow(case, entry)


def page(
    *rows: QueueRow, scheduling: bool = True, locale: str = "en", number: int = 1,
    pages: int = 1,
) -> str:
    env = I18n().environments[locale]
    lines = [queue_line(r) for r in rows]
    return env.get_template("queue.html").render(
        user=None, csrf_token="t", lang=locale.replace("_", "-"), locale=locale,
        current_path="/queue", labels=LABELS, rows=lines,
        sessions=SESSIONS if scheduling else [], page=number, pages=pages, total=len(lines),
        overdue_count=sum(1 for line in lines if line.overdue), error=None, failed="",
    )


def test_every_value_of_a_row_is_escaped() -> None:
    written = page(row(summary(code=MARKUP, diagnosis=MARKUP, icd10_code=MARKUP,
                               referring_center_name=MARKUP, urgency="urgent")))
    assert MARKUP not in written and "<img" not in written
    # The code four times (row, link, its text, the checkbox), diagnosis, ICD-10, center.
    assert written.count(ESCAPED) == 7
    assert "Aceptado &lt;b&gt;" in written  # labels too
    assert "Sesión &lt;script&gt;" in written and "Sesión <script>" not in written


def test_a_row_shows_waiting_due_time_and_the_overdue_flag() -> None:
    written = page(row(summary()))
    assert "<td>2 d 2 h</td>" in written
    assert '<tr class="overdue"' in written  # urgent: 48 h
    assert "2026-12-07 04:00 CST" in written and 'class="flag-overdue">Overdue<' in written
    on_time = page(row(summary(), waited=timedelta(hours=3)))
    assert '<tr class=""' in on_time and "flag-overdue" not in on_time


def test_the_action_follows_the_status_and_the_scheduling_form() -> None:
    accepted = row(summary())
    assert 'name="case" value="JC-2026-000001" form="schedule-form"' in page(accepted)
    assert '<option value="7">' in page(accepted)
    assert '<a href="/sessions/new">Plan a session</a>' in page(accepted, scheduling=False)
    submitted = page(row(summary(status="submitted")))
    assert 'href="/cases/JC-2026-000001#next-title">Triage</a>' in submitted
    waiting = page(row(summary(status="information_requested")))
    assert "Waiting for the referrer" in waiting and "Information requested" not in waiting


def test_the_queue_pager_is_translated_without_the_page_context() -> None:
    # The pager macro is imported without context (cached per language), its words compiled in.
    written = page(row(summary()), locale="es_MX", number=2, pages=3)
    assert "Página 2 de 3" in written and ">Anterior</a>" in written
    assert ">Siguiente</a>" in written
