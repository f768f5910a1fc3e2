"""A case's text that points at an attached document, in Spanish or English."""

from __future__ import annotations

import pytest

from casebook.attachment_mentions import mentions_an_attachment


@pytest.mark.parametrize(
    "text",
    [
        "Ver resumen adjunto",
        "TAC de tórax: ver anexo",
        "Se adjuntan estudios (ver adjuntos)",
        "Biopsia anexada",
        "Histopatología adjunta.",
        "See attached summary",
        "pathology report attached",
    ],
)
def test_a_mention_of_an_attachment_is_found(text: str) -> None:
    assert mentions_an_attachment(None, "", text)


@pytest.mark.parametrize(
    "text",
    ["VAC 4 ciclos", "Sin anexión ganglionar", "Attachment style of the family", None, ""],
)
def test_other_text_is_not_a_mention(text: str | None) -> None:
    assert not mentions_an_attachment(text)
