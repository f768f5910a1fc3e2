"""The exact aiortc and pylibsrtp pins: one table in code, the same in pyproject.toml and locks."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from media.versions import REQUIRED, installed_versions, mismatches

REPO = Path(__file__).resolve().parents[2]
LOCKS = ("requirements/run.lock", "requirements/dev.lock")


def locked(path: str) -> dict[str, set[str]]:
    """Each package of a lock file with its version lines (one per marker when they differ)."""
    pins: dict[str, set[str]] = {}
    for line in (REPO / path).read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9_.-]+)==([^ ;\\]+)(?: ; ([^\\]+?))?\s*\\?$", line):
            name, version, marker = match.groups()
            pins.setdefault(name.lower(), set()).add(f"{version} {marker or ''}".strip())
    return pins


def test_pyproject_media_extra_pins_the_required_versions() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    media = project["optional-dependencies"]["media"]
    exact = dict(req.split("==") for req in media if "==" in req)
    assert exact == dict(REQUIRED)
    assert "junta[media]" in project["optional-dependencies"]["dev"]


def test_both_locks_hold_the_required_versions() -> None:
    for lock in LOCKS:
        pins = locked(lock)
        assert {name: pins.get(name) for name in REQUIRED} == {
            name: {version} for name, version in REQUIRED.items()
        }, lock


def test_the_dev_lock_keeps_every_version_of_the_run_lock() -> None:
    run, dev = locked("requirements/run.lock"), locked("requirements/dev.lock")
    assert len(run) > 20
    assert {name: dev.get(name) for name in run} == run


def test_every_lock_line_carries_a_hash() -> None:
    for lock in LOCKS:
        # A requirement starts a line; its hashes and "# via" comments are indented under it.
        blocks = re.split(r"\n(?=\S)", (REPO / lock).read_text())
        requirements = [block for block in blocks if re.match(r"[A-Za-z0-9_.-]+==", block)]
        assert len(requirements) == sum(len(versions) for versions in locked(lock).values())
        for block in requirements:
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_required_versions_are_no_mismatch() -> None:
    assert mismatches(dict(REQUIRED)) == []


def test_another_version_is_one_line_naming_installed_and_required() -> None:
    assert mismatches({"aiortc": "1.17.0", "pylibsrtp": "1.0.0"}) == [
        "aiortc 1.17.0 is installed but Junta requires aiortc==1.16.0"
    ]
    assert mismatches({"aiortc": "1.9.0", "pylibsrtp": "0.12.0"}) == [
        "aiortc 1.9.0 is installed but Junta requires aiortc==1.16.0",
        "pylibsrtp 0.12.0 is installed but Junta requires pylibsrtp==1.0.0",
    ]


def test_a_package_not_installed_is_no_mismatch() -> None:
    # A server without the media extra keeps failing where it first needs aiortc, as before.
    assert mismatches({"aiortc": None, "pylibsrtp": None}) == []
    assert mismatches({}) == []


def test_this_environment_has_the_required_versions() -> None:
    assert installed_versions() == dict(REQUIRED)
