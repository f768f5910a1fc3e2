"""Using the call page from the keyboard, as its keyboard tests and audits do."""

from __future__ import annotations

from typing import Any


def press(page: Any, selector: str, key: str = "Enter") -> None:
    """Focus the control and press `key` on it, as a keyboard user does."""
    page.focus(selector)
    page.keyboard.press(key)


def focused(page: Any) -> str:
    """The id of the focused element ("" for the page itself)."""
    return str(page.evaluate("document.activeElement ? document.activeElement.id : ''"))
