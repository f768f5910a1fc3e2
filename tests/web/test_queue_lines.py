"""The queue page's rows are escaped once, in `web.queue_lines`, and printed as they are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import casebook.models  # noqa: F401 (the mappers, before the listing's columns are read)
from casebook.case_listing import CaseSummary
from casebook.triage import QueueItem, Urgency, order_queue
from web.i18n import I18n
from web.queue_lines import QueueLine, queue_line

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MARKUP = '<img src=x onerror="x()"> & \'quoted\''
LABELS = {"status": {"accepted": "Aceptado <b>"}, "urgency": {"urgent": "Urgente"}}


def summary(**changes: Any) -> CaseSummary:
    case = CaseSummary(
        id=1, code="JC-2026-000001", status="accepted", urgency="urgent", specialty=None,
        referring_center_id=1, referring_center_name="Hospital", patient_initials="ABC",
        patient_age_years=7, patient_age_months=0, patient_sex="female",
        diagnosis="Neuroblastoma", icd10_code="C74.9", submitted_at=NOW - timedelta(hours=50),
        updated_at=NOW,
    )
    return case._replace(**changes)


def line(case: CaseSummary) -> QueueLine:
    item = QueueItem(case.id, Urgency(case.urgency), NOW - timedelta(hours=50))
    (entry,) = order_queue([item], NOW)
    return queue_line(case, entry, waiting_pattern="%(days)s d %(hours)s h", labels=LABELS)


def test_every_text_field_of_a_row_is_escaped() -> None:
    row = line(summary(code=MARKUP, diagnosis=MARKUP, icd10_code=MARKUP,
                       referring_center_name=MARKUP))
    escaped = "&lt;img src=x onerror=&quot;x()&quot;&gt; &amp; &#x27;quoted&#x27;"
    assert (row.code, row.diagnosis, row.icd10, row.center) == (escaped,) * 4
    assert row.status_label == "Aceptado &lt;b&gt;"  # even a label is escaped text
    for value in row:
        assert not isinstance(value, str) or "<" not in value


def test_a_row_carries_its_times_and_overdue_flag() -> None:
    row = line(summary())
    assert row.waiting == "2 d 2 h"
    assert row.overdue  # urgent: 48 h
    assert row.submitted == "2026-12-05 04:00 CST" and row.due == "2026-12-07 04:00 CST"


def test_the_queue_template_prints_the_escaped_row_values_as_they_are() -> None:
    env = I18n().environments["en"]
    row = line(summary(diagnosis=MARKUP))
    html = env.get_template("queue.html").render(
        user=None, csrf_token="t", lang="en", locale="en", current_path="/queue",
        labels=LABELS, rows=[row], sessions=[], session_options="", page=1, pages=1, total=1,
        overdue_count=1, error=None, failed="",
    )
    assert row.diagnosis in html and MARKUP not in html
    assert f'href="/cases/{row.code}"' in html and "Overdue" in html
