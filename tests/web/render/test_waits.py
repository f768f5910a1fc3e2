"""Waits told in plain words, in both languages."""

from __future__ import annotations

import pytest

from web.render.i18n import I18n
from web.render.waits import wait_in_words, wait_parts


@pytest.mark.parametrize(
    ("seconds", "parts"),
    [
        (0.2, (0, 0, 1)),
        (45, (0, 0, 45)),
        (284.1, (0, 4, 45)),
        (599, (0, 9, 59)),
        (898.5, (0, 15, 0)),  # past ten minutes only whole minutes, rounded up
        (900, (0, 15, 0)),
        (5400, (1, 30, 0)),
        (86400, (24, 0, 0)),
    ],
)
def test_wait_parts(seconds: float, parts: tuple[int, int, int]) -> None:
    assert wait_parts(seconds) == parts


def test_waits_in_words_in_both_languages() -> None:
    i18n = I18n()
    spanish = i18n.translations["es_MX"].ngettext
    english = i18n.translations["en"].ngettext
    assert wait_in_words(900, spanish) == "15 minutos"
    assert wait_in_words(285, spanish) == "4 minutos 45 segundos"
    assert wait_in_words(61, spanish) == "1 minuto 1 segundo"
    assert wait_in_words(285, english) == "4 minutes 45 seconds"
    assert wait_in_words(3600, english) == "1 hour"
    assert wait_in_words(5400, english) == "1 hour 30 minutes"
