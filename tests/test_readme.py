"""README.md opens with the two commands and says plainly what each needs on the machine."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def _needs(command: str) -> str:
    item = re.search(rf"^- `{command}`: (.*?)(?=^- |^\n)", README, re.M | re.S)
    assert item is not None, f"README says nothing of what `{command}` needs"
    return item.group(1)


def test_the_two_commands_come_first() -> None:
    assert re.findall(r"^## .*", README, re.M)[0] == "## Two commands"
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make run", "make test"]
    assert README.index(first_block.group(0)) < README.index("What each needs")


def test_what_each_command_needs_is_said() -> None:
    run = _needs("make run")
    for tool in ("Python 3.11", "Node.js", "npm", "make"):
        assert tool in run, tool
    for service in ("PostgreSQL", "Redis", "Chromium"):
        assert service not in run.split("Nothing else")[0], service
    test = _needs("make test")
    for need in ("PostgreSQL", "127.0.0.1:5432", "Redis", "127.0.0.1:6379", "Chromium"):
        assert need in test, need
    # Every Debian package the CI script installs is named where a newcomer reads it.
    ci = (REPO / ".ci" / "run").read_text()
    packages = {p for group in re.findall(r"missing\+=\(([^)]*)\)", ci) for p in group.split()}
    assert packages, "no packages found in .ci/run"
    for package in sorted(packages - {"make", "nodejs", "npm"}):
        assert package in test, package
