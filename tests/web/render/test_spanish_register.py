"""The es-MX catalogs address people as "usted", never "tú" (issue 23).

Hospitals write to physicians formally; a page that says "Espera" and then "Inicie sesión" reads
as careless. The check looks for the informal forms a translator slips into: the pronouns and
possessives of "tú", verbs in its second person, and its imperatives where an instruction starts
(mid-sentence "revisa" is the third person: "la coordinación revisa el caso").
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from web.render.i18n import LOCALE_DIR

PRONOUNS = "tú tu tus te ti contigo tuyo tuya tuyos tuyas"
SECOND_PERSON = (
    "puedes tienes quieres eres estás debes necesitas has vas sabes aceptas das ves escuchas "
    "haces usas vuelves entras escribes eliges recibes intentas buscas ingresas "
    "olvidaste iniciaste pediste recibiste llegaste saliste abriste diste hiciste escribiste "
    "elegiste subiste tuviste fuiste estuviste aceptaste guardaste cambiaste volviste entraste "
    "unirte conectarte registrarte inténtalo compártelo vuélvelo revísalo escríbelo ábrelo"
)
# Imperatives of "tú" that are no noun or adjective the interface uses as a label ("Pregunta
# clínica", "Prueba de red", "Activa" are, so they are not here).
IMPERATIVES = (
    "espera intenta revisa elige escribe vuelve recarga permanece comparte inicia abre pide usa "
    "sube ingresa cierra acepta confirma guarda agrega añade selecciona descarga llama conecta "
    "entra habla haz pon sal ven ten di mira toca pulsa cambia reintenta verifica busca lee "
    "avisa regresa responde envía introduce marca indica completa corrige quita borra elimina "
    "asegúrate recuerda únete conéctate apaga enciende comprueba solicita firma"
)
_ANYWHERE = re.compile(rf"\b({'|'.join((PRONOUNS + ' ' + SECOND_PERSON).split())})\b", re.I)
_INSTRUCTION = re.compile(rf"(?:^|[.,:;!?¡¿—…]\s*|\by\s+)({'|'.join(IMPERATIVES.split())})\b", re.I)


def informal_forms(text: str) -> list[str]:
    """The words of `text` that address the reader as "tú"."""
    return [m.group(1) for m in (*_ANYWHERE.finditer(text), *_INSTRUCTION.finditer(text))]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Espera unos minutos.", ["Espera"]),
        ("Revisa tu cámara.", ["tu", "Revisa"]),
        ("Puede cerrar esta página o volver a unirte.", ["unirte"]),
        ("Verifique la dirección e inténtalo de nuevo.", ["inténtalo"]),
        ("Espere unos minutos e inténtelo de nuevo.", []),
        ("La coordinación revisa el caso.", []),
        ("Pregunta clínica", []),
        ("Su cámara está apagada", []),
    ],
)
def test_the_check_tells_tu_from_usted(text: str, found: list[str]) -> None:
    assert informal_forms(text) == found


@pytest.mark.parametrize("domain", ["messages", "client"])
def test_the_spanish_catalogs_use_usted(domain: str) -> None:
    path = Path(LOCALE_DIR) / "es_MX" / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="es_MX")
    informal = []
    for message in catalog:
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            if text and informal_forms(text):
                informal.append(f"{message.lineno}: {informal_forms(text)} {text}")
    assert informal == []
