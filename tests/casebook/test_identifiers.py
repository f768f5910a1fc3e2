"""Direct identifiers in a case's free text and file names (`casebook.identifiers`)."""

from __future__ import annotations

import pytest

from casebook.identifiers import (
    ATTACHMENTS_FIELD,
    Finding,
    IdentifierKind,
    find_identifiers,
    luhn_valid,
    mask,
)

K = IdentifierKind
# An NSS whose last digit is the Luhn check digit of the first ten.
NSS = "12345678903"


def kinds(text: str, names: tuple[str, ...] = ("R.M.S.",)) -> list[IdentifierKind]:
    return [f.kind for f in find_identifiers({"clinical_question": text}, [], names)]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CURP GOMR150312HDFRRS01", K.CURP),
        ("curp: gomr150312hdfrrs01.", K.CURP),
        ("Paciente (PEXA091130MJCRNNA5) referida", K.CURP),
        ("con CURP SAXL120101XNLNPC09 registrada", K.CURP),
        (f"NSS {NSS}", K.NSS),
        ("NSS 12-34-56-7890-3", K.NSS),
        ("afiliación 1234 56 7890 3", K.NSS),
        ("tel 5512345678", K.PHONE),
        ("tel. 55 1234 5678", K.PHONE),
        ("llamar al (33) 1234-5678", K.PHONE),
        ("mamá: +52 81 1234 5678", K.PHONE),
        ("+52 1 55 1234 5678", K.PHONE),
        ("whatsapp 222-123-4567", K.PHONE),
        ("cel 55.12.34.56.78", K.PHONE),
        ("mamá: rosa.madre+1@gmail.com", K.EMAIL),
        ("escribir a contacto@hospital.gob.mx por favor", K.EMAIL),
        ("Se trata de Rosa María Sánchez, 6 años", K.NAME),
        ("la paciente ROSA MARIA SANCHEZ ingresa", K.NAME),
        ("Paciente Rosa María de la Sánchez con LLA", K.NAME),
        ("Nombre: Rosa\nMaría Sánchez", K.NAME),
    ],
)
def test_identifiers_are_found(text: str, kind: IdentifierKind) -> None:
    assert kinds(text) == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "LLA-B de alto riesgo, CIE-10 C91.0",
        "Rabdomiosarcoma embrionario de órbita (C69.6), Grupo III IRS",
        "Estadio IV, riesgo intermedio; protocolo BFM 2009; Estadio III de Murphy",
        "Diagnóstico el 15/03/2024, recaída 2024-03-15, biopsia 03.01.2025",
        "Hb 10.2 g/dL, leucocitos 150 000/mm3, plaquetas 45 000, DHL 1250 U/L",
        "Niña de 6 años 3 meses, peso 21.5 kg, talla 118 cm, SC 0.82 m2",
        "Quimioterapia VAC 4 ciclos (vincristina 1.5 mg/m2, actinomicina D)",
        "Leucocitos 12345678901 por error de captura",  # 11 digits, not a valid NSS
        "Folio de laboratorio 2024031512",  # 10 digits starting as a date... see below
        "Rosa es su hermana; Sánchez el apellido de su médico",
        "Resonancia Magnética Simple de cráneo",  # initials R M S? see below
        "Valorada por el Dr. Juan Pérez López",
        "Seguimiento en Hospital Infantil de México Federico Gómez",
        "correo no disponible; teléfono sin registrar",
        "Cariotipo 46,XX; t(12;21) ETV6-RUNX1; índice de DNA 1.16",
    ],
)
def test_clinical_text_is_not_flagged(text: str) -> None:
    found = kinds(text)
    # Two deliberate limits, pinned so they stay known: a bare 10-digit number reads as a phone
    # number, and three capitalized words with the patient's initials read as the name.
    if text.startswith("Folio"):
        assert found == [K.PHONE]
    elif text.startswith("Resonancia"):
        assert found == [K.NAME]
    else:
        assert found == []


def test_findings_name_the_field_and_mask_the_match() -> None:
    texts = {
        "diagnosis": "LLA-B",
        "treatment_so_far": "Contacto: mama@correo.mx",
        "clinical_question": "¿Trasplante? CURP GOMR150312HDFRRS01",
    }
    assert find_identifiers(texts, [], ["RMS"]) == [
        Finding("treatment_so_far", K.EMAIL, "mam*********mx"),
        Finding("clinical_question", K.CURP, "GOM*************01"),
    ]


def test_several_identifiers_in_one_text_are_each_reported_once() -> None:
    text = f"Rosa María Sánchez, NSS {NSS}, tel 55 1234 5678, GOMR150312HDFRRS01"
    assert sorted(kinds(text)) == sorted([K.NAME, K.NSS, K.PHONE, K.CURP])


def test_file_names_are_checked() -> None:
    found = find_identifiers(
        {},
        ["Rosa_Maria_Sanchez_biopsia.pdf", "GOMR150312HDFRRS01.pdf", "tac-torax-2024-03-15.pdf"],
        ["R.M.S."],
    )
    assert [(f.field, f.kind) for f in found] == [
        (ATTACHMENTS_FIELD, K.NAME),
        (ATTACHMENTS_FIELD, K.CURP),
    ]
    assert found[1].masked == "GOM*************01"


def test_a_full_name_is_found_ignoring_case_and_accents() -> None:
    names = ("Rosa María Sánchez López",)
    assert kinds("paciente rosa maria  SANCHEZ lópez, 6 años", names) == [K.NAME]
    assert kinds("paciente Rosa María, 6 años", names) == []


def test_nothing_is_found_without_text() -> None:
    assert find_identifiers({"stage": ""}, [], ["RMS"]) == []


def test_luhn_check_digit() -> None:
    assert luhn_valid(NSS)
    assert not luhn_valid("12345678901")
    assert luhn_valid("79927398713")  # the classic Luhn example


def test_masking_keeps_only_the_edges() -> None:
    assert mask("GOMR150312HDFRRS01") == "GOM*************01"
    assert mask("a@b.mx") == "a*****"


def test_initials_are_told_from_a_name() -> None:
    # "Rosa" is a name, not the initials R.O.S.A.: only the full name written out would match.
    assert kinds("Rosa Ortiz Sánchez Arias", ("Rosa",)) == []
    assert kinds("Rosa Ortiz Sánchez Arias", ("ROSA",)) == [K.NAME]
    assert kinds("Rosa Ortiz Sánchez Arias", ("r.o.s.a.",)) == [K.NAME]
