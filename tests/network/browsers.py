"""Chromium inside a site of a test network, for Playwright.

Playwright starts Chromium itself and talks to it over pipes, so a small script that runs
`ip netns exec <namespace> chromium "$@"` serves as its executable: the browser, and every
page's sockets, live in the site, while the test drives it from the host as usual. The script
may set HOME, so that Chromium reads an NSS database (`$HOME/.pki/nssdb`) made for the test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.network.netns import Network
from tests.services import CHROMIUM, CHROMIUM_ARGS


def launch(
    playwright: Any,
    network: Network,
    site: str,
    workdir: Path,
    *,
    home: Path | None = None,
    args: tuple[str, ...] = (),
) -> Any:
    """A Chromium (Playwright `Browser`) running in `site`; close it when done."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {"HOME": str(home)} if home is not None else {}
    wrapper = network.wrapper(site, CHROMIUM, workdir / f"chromium-{site}", env)
    return playwright.chromium.launch(executable_path=str(wrapper), args=[*CHROMIUM_ARGS, *args])
