"""A sample case, session and recommendation (plain summaries) and a small es-MX catalog.

Shared by the tests of the FHIR export, the nota PDF, the messages and the mailer. The catalog
stands in for `web/locale/es_MX/LC_MESSAGES/messages.po`, which casebook must not import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from casebook.models import CaseStatus, RoomKind, Sex
from casebook.summaries import (
    CaseSummary,
    Center,
    Clinician,
    PatientPseudonym,
    RecommendationSummary,
    SessionSummary,
)
from casebook.triage import Urgency

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SESSION_START = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)

REFERRER = Clinician(
    "Dra. María Núñez Ibáñez", "Hospital Infantil de Tijuana", "Oncología pediátrica",
    "maria.nunez@hospital.example", "u-referrer",
)
CHAIR = Clinician(
    "Dr. José Ángel Peña", "CMN Siglo XXI", "Hematología pediátrica",
    "jose.pena@cmn.example", "u-chair",
)
RADIOTHERAPIST = Clinician(
    "Dra. Sofía Muñoz", "Hospital Infantil de México", "Radioterapia", "sofia@himfg.example",
    "u-radio",
)


def case(**changes: Any) -> CaseSummary:
    base = CaseSummary(
        code="JC-2026-000123",
        status=CaseStatus.RECOMMENDATION_ISSUED,
        urgency=Urgency.URGENT,
        patient=PatientPseudonym("j. a. l.", age_years=3, age_months=4, sex=Sex.FEMALE),
        diagnosis="Leucemia linfoblástica aguda de precursores B",
        icd10_code="C91.0",
        stage="Riesgo alto (EMR positiva al día 29)",
        clinical_question="¿Está indicado el trasplante alogénico en primera remisión?",
        referring_center=Center("Hospital Infantil de Tijuana", clues="BCSSA001234"),
        referrer=REFERRER,
        created_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        submitted_at=datetime(2026, 11, 3, 16, 0, tzinfo=UTC),
        specialty="Hematología pediátrica",
    )
    return dataclasses.replace(base, **changes)


def session(**changes: Any) -> SessionSummary:
    base = SessionSummary(
        session_id=42,
        kind=RoomKind.BOARD,
        title="Comité de tumores hematológicos",
        starts_at=SESSION_START,
        duration_minutes=90,
        room_url="https://junta.example/rooms/junta-4f3a2b1c0d",
        chair=CHAIR,
        sequence=2,
    )
    return dataclasses.replace(base, **changes)


def recommendation(**changes: Any) -> RecommendationSummary:
    base = RecommendationSummary(
        issued_at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        diagnostic_criteria=(
            "Cumple criterios de LLA de alto riesgo: enfermedad mínima residual ≥ 0.01 % al "
            "final de la inducción. Niña de 3 años."
        ),
        suggested_studies="- Enfermedad mínima residual por citometría\n- Tipificación HLA",
        treatment_suggestions="1. Consolidación intensificada\n2. Búsqueda de donador",
        chair=CHAIR,
        signatories=(CHAIR, RADIOTHERAPIST),
    )
    return dataclasses.replace(base, **changes)


ES_MX = {
    "Pediatric Oncology Network": "Red de Oncología Pediátrica",
    "Interconsultation note": "Nota de interconsulta",
    "Confidential: clinical information of a minor, for the treating team only.": (
        "Confidencial: información clínica de un menor, solo para el equipo tratante."
    ),
    "Page %(page)s of %(pages)s": "Página %(page)s de %(pages)s",
    "Case": "Caso",
    "Date": "Fecha",
    "Referring center": "Centro que refiere",
    "Referring physician": "Médico que refiere",
    "Patient": "Paciente",
    "Diagnosis (ICD-10)": "Diagnóstico (CIE-10)",
    "Stage / risk group": "Etapa / grupo de riesgo",
    "Clinical question": "Pregunta clínica",
    "Review session": "Sesión de revisión",
    "Kind": "Tipo",
    "Session": "Sesión",
    "Chair": "Preside",
    "Recommendation": "Recomendación",
    "Diagnostic criteria": "Criterios diagnósticos",
    "Suggested studies": "Estudios sugeridos",
    "Treatment suggestions": "Sugerencias de tratamiento",
    "Signed by": "Firman",
    "Female": "Femenino",
    "Male": "Masculino",
    "Undetermined": "Indeterminado",
    "Tumor board": "Junta de tumores",
    "Hello %(name)s,": "Hola, %(name)s:",
    "Open the case": "Abrir el caso",
    "Open the session": "Abrir la sesión",
    "Invitation: %(session)s": "Invitación: %(session)s",
    "Cancelled: %(session)s": "Cancelada: %(session)s",
    "Case %(code)s scheduled for %(date)s": "Caso %(code)s programado para el %(date)s",
    "Recommendation issued for case %(code)s": "Recomendación emitida para el caso %(code)s",
}


def gettext_es(msgid: str) -> str:
    return ES_MX.get(msgid, msgid)


def gettext_en(msgid: str) -> str:
    return msgid


def gettext_for(locale: str) -> Callable[[str], str]:
    return gettext_es if locale.startswith("es") else gettext_en
