"""The exact aiortc and pylibsrtp releases the media code is written against.

`media.aiortc_tap` and `media.srtp_protect` reach into these libraries' private internals, which
change without notice between releases: another version may forward garbage instead of failing.
`junta serve` and `junta media` therefore refuse to start on any other version. pyproject.toml's
`media` extra pins the same versions (a test checks they agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Final

REQUIRED: Final[Mapping[str, str]] = {"aiortc": "1.16.0", "pylibsrtp": "1.0.0"}


def mismatches(installed: Mapping[str, str | None]) -> list[str]:
    """One line per pinned package installed at another version than `REQUIRED` says.

    A package that is not installed (None) is no mismatch: a server without the media extra
    fails, as before, where it first needs it.
    """
    lines = []
    for name, required in REQUIRED.items():
        version = installed.get(name)
        if version is not None and version != required:
            lines.append(f"{name} {version} is installed but Junta requires {name}=={required}")
    return lines


def installed_versions() -> dict[str, str | None]:
    """The installed version of each pinned package (None when it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in REQUIRED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
