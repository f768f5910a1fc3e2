"""Installing the project for development prints no setuptools warning.

`make setup` runs `pip install -e .`; setuptools used to print its "Editable installation"
notice on every install (and, with older settings, a deprecation three times), which newcomers
read as something gone wrong.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_an_editable_install_prints_no_setuptools_warning(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir",
         "--prefix", str(tmp_path / "prefix"), "-e", str(REPO)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr
    # pip's own notes about this machine's extra indexes are not setuptools'.
    output = [
        line for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and not line.startswith("WARNING: Location")
    ]
    assert output == []
