"""The nota de interconsulta as a PDF: what the referring center files in the patient's record.

Its sections follow what NOM-004-SSA3-2012 asks of an interconsultation note (diagnostic
criteria, suggested studies, treatment suggestions) after the case's identification. Labels go
through the caller's `gettext` (msgids in English, catalogs in `web/locale`); dates, ages and
lists are formatted for `lang` with Babel. Text is set in DejaVu Sans, shipped in
`casebook/fonts/`, so accents and ñ print everywhere. Rendering is pure: same input, same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.units import format_unit
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from casebook.models import RoomKind, Sex
from casebook.summaries import (
    CaseSummary,
    Clinician,
    PatientPseudonym,
    RecommendationSummary,
    SessionSummary,
    list_items,
)

Gettext = Callable[[str], str]

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVuSans"
DEFAULT_TIMEZONE = "America/Mexico_City"
MARGIN = 18.0  # mm
INK = (33, 37, 41)
MUTED = (96, 103, 112)
ACCENT = (23, 78, 122)


@dataclass(frozen=True)
class Nota:
    """Everything the nota shows: the case, the session that discussed it, its recommendation."""

    case: CaseSummary
    session: SessionSummary
    recommendation: RecommendationSummary
    issuing_center: str  # the network's center that issues the nota, under the header


def render_nota(
    data: Nota, lang: str, gettext: Gettext, *, timezone: tzinfo | None = None
) -> bytes:
    """The nota as PDF bytes (US Letter), labels in `lang` through `gettext`.

    Times show in `timezone` (default: America/Mexico_City) with its abbreviation.
    """
    _ = gettext
    tz = timezone or ZoneInfo(DEFAULT_TIMEZONE)
    case, session, recommendation = data.case, data.session, data.recommendation
    pdf = _NotaPDF(
        network=_("Pediatric Oncology Network"),
        center=data.issuing_center,
        title=_("Interconsultation note"),
        case_code=case.code,
        footer=_("Confidential: clinical information of a minor, for the treating team only."),
        page_label=_("Page %(page)s of %(pages)s"),
    )
    pdf.set_title(f"{_('Interconsultation note')} {case.code}")
    pdf.set_author(data.issuing_center)
    pdf.set_creator("Junta")
    pdf.set_lang(lang.replace("_", "-"))
    pdf.set_creation_date(recommendation.issued_at)
    pdf.add_page()

    pdf.heading(_("Interconsultation note"), size=15)
    pdf.fields(
        [
            (_("Case"), case.code),
            (_("Date"), _when(recommendation.issued_at, lang, tz)),
            (_("Referring center"), case.referring_center.name),
            (_("Referring physician"), case.referrer.name),
            (_("Patient"), _patient(case.patient, lang, _)),
            (_("Diagnosis (ICD-10)"), f"{case.icd10_code} · {case.diagnosis}"),
            (_("Stage / risk group"), case.stage or "—"),
        ]
    )
    pdf.section(_("Clinical question"))
    pdf.paragraph(case.clinical_question or "—")

    pdf.section(_("Review session"))
    pdf.fields(
        [
            (_("Kind"), _session_kind(session.kind, _)),
            (_("Session"), session.title),
            (_("Date"), _when(session.starts_at, lang, tz)),
            (_("Chair"), session.chair.name),
        ]
    )
    pdf.section(_("Recommendation"))
    pdf.subheading(_("Diagnostic criteria"))
    pdf.paragraph(recommendation.diagnostic_criteria or "—")
    pdf.subheading(_("Suggested studies"))
    pdf.items(list_items(recommendation.suggested_studies))
    pdf.subheading(_("Treatment suggestions"))
    pdf.items(list_items(recommendation.treatment_suggestions))

    pdf.section(_("Signed by"))
    for signer in recommendation.signers:
        pdf.signer(signer)
    return bytes(pdf.output())


def _when(moment: datetime, lang: str, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    date = format_date(local, "long", locale=lang)
    time = format_time(local, "short", locale=lang)
    return f"{date}, {time} ({local.tzname()})"


def _patient(patient: PatientPseudonym, lang: str, _: Gettext) -> str:
    age = [format_unit(patient.age_years, "duration-year", length="long", locale=lang)]
    if patient.age_months or not patient.age_years:
        age.append(format_unit(patient.age_months, "duration-month", length="long", locale=lang))
    sex = {Sex.FEMALE: _("Female"), Sex.MALE: _("Male"), Sex.UNDETERMINED: _("Undetermined")}
    return f"{patient.initials} · {format_list(age, locale=lang)} · {sex[patient.sex]}"


def _session_kind(kind: RoomKind, _: Gettext) -> str:
    return {
        RoomKind.CONSULTATION: _("Interconsultation"),
        RoomKind.BOARD: _("Tumor board"),
        RoomKind.LECTURE: _("Academic session"),
    }[kind]


class _NotaPDF(FPDF):
    """A Letter page with the network's header and a footer with page numbers."""

    def __init__(
        self, *, network: str, center: str, title: str, case_code: str, footer: str,
        page_label: str,
    ) -> None:
        super().__init__(orientation="portrait", unit="mm", format="letter")
        self.network, self.center, self.title_text = network, center, title
        self.case_code, self.footer_text, self.page_label = case_code, footer, page_label
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=MARGIN + 8)
        self.set_text_color(*INK)

    @property
    def width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def header(self) -> None:
        self.set_y(MARGIN - 6)
        self.set_font(FONT, "B", 12)
        self.set_text_color(*ACCENT)
        self.cell(self.width * 0.65, 6, self.network)
        self.set_font(FONT, "", 9)
        self.set_text_color(*MUTED)
        self.cell(self.width * 0.35, 6, self.title_text, align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(self.width * 0.65, 5, self.center)
        self.set_font(FONT, "B", 9)
        self.cell(self.width * 0.35, 5, self.case_code, align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.5)
        self.line(self.l_margin, self.get_y() + 1.5, self.w - self.r_margin, self.get_y() + 1.5)
        self.set_y(self.get_y() + 6)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.set_draw_color(*MUTED)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y() - 1, self.w - self.r_margin, self.get_y() - 1)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        # "{nb}" is fpdf2's alias for the page count, filled in when the document is closed.
        page = self.page_label % {"page": self.page_no(), "pages": "{nb}"}
        self.cell(self.width * 0.8, 5, self.footer_text)
        self.cell(self.width * 0.2, 5, page, align="R")

    def block(self, width: float, height: float, text: str) -> None:
        """Left-aligned wrapped text, then the cursor at the left margin on the next line."""
        self.multi_cell(width, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str, size: float) -> None:
        self.set_font(FONT, "B", size)
        self.block(self.width, size * 0.5, text)
        self.ln(3)

    def section(self, text: str) -> None:
        # Keep a section title with at least a few lines of its content.
        if self.will_page_break(22):
            self.add_page()
        self.ln(3)
        self.set_font(FONT, "B", 11)
        self.set_text_color(*ACCENT)
        self.block(self.width, 6, text.upper())
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)
        self.set_text_color(*INK)

    def subheading(self, text: str) -> None:
        if self.will_page_break(16):
            self.add_page()
        self.ln(1)
        self.set_font(FONT, "B", 10)
        self.block(self.width, 5.5, text)

    def paragraph(self, text: str) -> None:
        self.set_font(FONT, "", 10)
        for block in text.strip().split("\n"):
            self.block(self.width, 5, block.strip() or " ")
        self.ln(1)

    def items(self, items: list[str]) -> None:
        self.set_font(FONT, "", 10)
        if not items:
            self.paragraph("—")
            return
        for item in items:
            self.cell(6, 5, "•")
            self.block(self.width - 6, 5, item)
        self.ln(1)

    def fields(self, rows: list[tuple[str, str]]) -> None:
        label_width = 48.0
        for label, value in rows:
            self.set_font(FONT, "", 10)
            lines = self.multi_cell(
                self.width - label_width, 5, value, dry_run=True, output="LINES"
            )
            assert isinstance(lines, list)
            if self.will_page_break(5 * len(lines)):
                self.add_page()
            self.set_font(FONT, "B", 9)
            self.set_text_color(*MUTED)
            self.cell(label_width, 5, label)
            self.set_text_color(*INK)
            self.set_font(FONT, "", 10)
            self.block(self.width - label_width, 5, value)
            self.ln(0.8)

    def signer(self, person: Clinician) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.ln(6)
        self.set_draw_color(*MUTED)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y(), self.l_margin + 80, self.get_y())
        self.ln(1)
        self.set_font(FONT, "B", 10)
        self.block(self.width, 5, person.name)
        self.set_font(FONT, "", 9)
        self.set_text_color(*MUTED)
        detail = " · ".join(part for part in (person.specialty, person.center) if part)
        self.block(self.width, 4.5, detail)
        self.set_text_color(*INK)
