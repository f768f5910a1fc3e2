"""Which real services the suite may use, and the rule that CI never skips them.

Tests that need PostgreSQL, Redis, Chromium or namespace networks call `require(...)`: on a
developer machine a missing service skips the test with a reason; with CI=true it fails,
because CI must exercise them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

CHROMIUM = os.environ.get("JUNTA_CHROMIUM", "/usr/bin/chromium")
POSTGRES_URL = os.environ.get(
    "JUNTA_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("JUNTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# The flags MEDIA-NOTES.md lists as working with Debian's Chromium in this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--autoplay-policy=no-user-gesture-required",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(available: bool, what: str) -> None:
    """Skip (developer machine) or fail (CI) when a real service is missing."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{what} is required when CI=true but is not available")
    pytest.skip(f"{what} is not available")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM)


def network_available() -> bool:
    """Test networks of namespaces (tests/network): root, `ip`, `tc`, `iptables`, and Debian's
    coturn for the TURN tests."""
    tools = ("ip", "tc", "iptables", "turnserver")
    return os.geteuid() == 0 and all(shutil.which(tool) for tool in tools)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM a process the test started, SIGKILL it if it has not ended within `grace`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)
