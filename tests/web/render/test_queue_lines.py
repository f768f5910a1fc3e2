"""The queue page's rows are written once, in `web.render.queue_lines`, with every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import casebook.models  # noqa: F401 (the mappers, before the listing's columns are read)
from casebook.case_listing import CaseSummary
from casebook.queue import QueueRow
from casebook.triage import QueueItem, Urgency, order_queue
from web.render.case_labels import QUEUE
from web.render.i18n import I18n
from web.render.queue_lines import queue_rows

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MARKUP = '<img src=x onerror="x()"> & \'quoted\''
ESCAPED = "&lt;img src=x onerror=&quot;x()&quot;&gt; &amp; &#x27;quoted&#x27;"
LABELS = {
    "status": {"accepted": "Aceptado <b>", "submitted": "Enviado"},
    "urgency": {"urgent": "Urgente"},
    "queue": dict(QUEUE, tick="Marcar <i>"),
}


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


def html(*rows: QueueRow, scheduling: bool = True) -> str:
    return str(queue_rows(rows, labels=LABELS, scheduling=scheduling))


def test_every_value_of_a_row_is_escaped() -> None:
    written = html(row(summary(code=MARKUP, diagnosis=MARKUP, icd10_code=MARKUP,
                               referring_center_name=MARKUP, urgency="urgent")))
    assert MARKUP not in written and "<img" not in written
    # The code four times (row, link, its text, the checkbox), diagnosis, ICD-10, center.
    assert written.count(ESCAPED) == 7
    assert "Aceptado &lt;b&gt;" in written and "Marcar &lt;i&gt;" in written  # labels too


def test_a_row_shows_waiting_due_time_and_the_overdue_flag() -> None:
    written = html(row(summary()))
    assert "<td>2 d 2 h</td>" in written
    assert '<tr class="overdue"' in written  # urgent: 48 h
    assert "2026-12-07 04:00 CST" in written and 'class="flag-overdue">Overdue<' in written
    on_time = html(row(summary(), waited=timedelta(hours=3)))
    assert '<tr class=""' in on_time and "flag-overdue" not in on_time


def test_the_action_follows_the_status_and_the_scheduling_form() -> None:
    accepted = row(summary())
    assert 'name="case" value="JC-2026-000001" form="schedule-form"' in html(accepted)
    assert '<a href="/sessions/new">Plan a session</a>' in html(accepted, scheduling=False)
    submitted = html(row(summary(status="submitted")))
    assert 'href="/cases/JC-2026-000001#next-title">Triage</a>' in submitted
    waiting = html(row(summary(status="information_requested")))
    assert "Waiting for the referrer" in waiting and "Information requested" not in waiting


def test_the_queue_template_prints_the_rows_as_they_are() -> None:
    env = I18n().environments["en"]
    rows = [row(summary(diagnosis=MARKUP))]
    page = env.get_template("queue.html").render(
        user=None, csrf_token="t", lang="en", locale="en", current_path="/queue",
        labels=LABELS, rows=rows, queue_rows=queue_rows(rows, labels=LABELS, scheduling=False),
        sessions=[], session_options="", page=1, pages=1, total=1, overdue_count=1, error=None,
        failed="",
    )
    assert ESCAPED in page and MARKUP not in page
    assert 'href="/cases/JC-2026-000001"' in page and "Overdue" in page


def test_the_queue_pager_is_translated_without_the_page_context() -> None:
    # The pager macro is imported without context (cached per language), its words compiled in.
    env = I18n().environments["es_MX"]
    rows = [row(summary())]
    page = env.get_template("queue.html").render(
        user=None, csrf_token="t", lang="es-MX", locale="es_MX", current_path="/queue",
        labels=LABELS, rows=rows, queue_rows="", sessions=[], session_options="", page=2,
        pages=3, total=120, overdue_count=0, error=None, failed="",
    )
    assert "Página 2 de 3" in page and ">Anterior</a>" in page and ">Siguiente</a>" in page
