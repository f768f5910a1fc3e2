"""The nota de interconsulta PDF, read back with poppler (pdftotext, pdftoppm) like a person would.

Rendered pages are left in `test-artifacts/` (gitignored) for a look.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from casebook.nota_pdf import Nota, render_nota
from tests.casebook.summary_samples import case, gettext_en, gettext_es, recommendation, session
from tests.services import require

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")


def nota(**changes: object) -> Nota:
    return Nota(case(), session(), recommendation(**changes), "Centro Médico Nacional Siglo XXI")


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    require(shutil.which("pdftotext") is not None, "pdftotext (Debian poppler-utils)")
    path = tmp_path / "nota.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        capture_output=True, check=True, timeout=30,
    )
    return result.stdout.decode("utf-8")


def page_count(pdf: bytes) -> int:
    return len(PAGE.findall(pdf))


def test_nota_is_a_pdf_with_spanish_labels_and_accents(tmp_path: Path) -> None:
    pdf = render_nota(nota(), "es_MX", gettext_es)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for words in (
        "Red de Oncología Pediátrica",
        "Nota de interconsulta",
        "JC-2026-000123",
        "Hospital Infantil de Tijuana",
        "Dra. María Núñez Ibáñez",
        "JAL · 3 años y 4 meses · Femenino",
        "C91.0 · Leucemia linfoblástica aguda de precursores B",
        "Riesgo alto (EMR positiva al día 29)",
        "¿Está indicado el trasplante alogénico en primera remisión?",
        "Junta de tumores",
        "30 de noviembre de 2026",
        "Criterios diagnósticos",
        "Tipificación HLA",
        "Búsqueda de donador",
        "Dr. José Ángel Peña",
        "Radioterapia · Hospital Infantil de México",
        "Confidencial: información clínica de un menor",
        "Página 1 de 1",
    ):
        assert words in text, words
    assert page_count(pdf) == 1


def test_nota_renders_to_an_image_for_a_look(tmp_path: Path) -> None:
    require(shutil.which("pdftoppm") is not None, "pdftoppm (Debian poppler-utils)")
    pdf = render_nota(nota(), "es_MX", gettext_es)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "nota-es.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "80", "-png", "-singlefile", str(ARTIFACTS / "nota-es.pdf"),
         str(ARTIFACTS / "nota-es")],
        check=True, timeout=60,
    )
    png = (ARTIFACTS / "nota-es.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


def test_nota_in_english_uses_english_labels_and_dates(tmp_path: Path) -> None:
    pdf = render_nota(nota(), "en", gettext_en)
    text = pdf_text(pdf, tmp_path)
    for words in (
        "Pediatric Oncology Network",
        "Interconsultation note",
        "Referring physician",
        "JAL · 3 years and 4 months · Female",
        "Diagnosis (ICD-10)",
        "Tumor board",
        "November 30, 2026",
        "Treatment suggestions",
        "Page 1 of 1",
    ):
        assert words in text, words


def test_long_texts_wrap_and_paginate_with_numbered_pages(tmp_path: Path) -> None:
    studies = "\n".join(
        f"- Estudio {i}: resonancia magnética de cráneo y columna con gadolinio, valoración "
        "oftalmológica y audiometría antes del siguiente ciclo" for i in range(1, 61)
    )
    criteria = "La paciente cumple criterios de riesgo alto según el protocolo vigente. " * 20
    pdf = render_nota(
        nota(suggested_studies=studies, diagnostic_criteria=criteria), "es_MX", gettext_es
    )
    pages = page_count(pdf)
    assert 2 <= pages <= 4
    text = pdf_text(pdf, tmp_path)
    assert f"Página {pages} de {pages}" in text
    assert "Estudio 60: resonancia" in text
    # Every line fits the page: pdftotext -layout would show overflow as very long lines.
    assert max(len(line) for line in text.splitlines()) < 130
    # The header repeats on every page.
    assert text.count("Red de Oncología Pediátrica") == pages


def test_rendering_is_deterministic() -> None:
    assert render_nota(nota(), "es_MX", gettext_es) == render_nota(nota(), "es_MX", gettext_es)


def test_missing_optional_content_prints_a_dash(tmp_path: Path) -> None:
    pdf = render_nota(
        Nota(case(stage=None), session(), recommendation(suggested_studies=""), "CMN"),
        "es_MX",
        gettext_es,
    )
    text = pdf_text(pdf, tmp_path)
    assert re.search(r"Etapa / grupo de riesgo\s+—", text)


@pytest.mark.parametrize("lang", ["es_MX", "en"])
def test_document_metadata_names_the_case(lang: str) -> None:
    pdf = render_nota(nota(), lang, gettext_es if lang == "es_MX" else gettext_en)
    assert b"JC-2026-000123" in pdf
    assert f"/Lang ({lang.replace('_', '-')})".encode() in pdf
