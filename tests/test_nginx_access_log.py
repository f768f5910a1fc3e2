"""nginx's access log keeps the tokens of mailed links (invitation, password reset, guest) out:
the format in deploy/nginx-access-log.conf, checked in a real nginx when one is installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import require

REPO = Path(__file__).resolve().parent.parent
LOG_CONF = REPO / "deploy" / "nginx-access-log.conf"
TOKEN = "0b5e7d1c-2f4a-4a7e-9c1d-3e8f6a2b9d10.1796000000.c2lnbmF0dXJlLW9mLXRoZS1saW5r"

# Request path → what the log may show of it.
LOGGED = {
    f"/invitation/{TOKEN}": "/invitation/[token]",
    f"/password-reset/{TOKEN}": "/password-reset/[token]",
    f"/guest/{TOKEN}": "/guest/[token]",
    f"/guest/{TOKEN}/room": "/guest/[token]/room",
    f"/api/guest/{TOKEN}/join": "/api/guest/[token]/join",
    f"/cases/ONC-2026-0001?{TOKEN}": "/cases/ONC-2026-0001",
    "/password-reset": "/password-reset",
}


def test_the_deployed_nginx_uses_the_redacting_log_format() -> None:
    conf = (REPO / "deploy" / "nginx.conf").read_text()
    compose = (REPO / "docker-compose.yml").read_text()
    assert "include /etc/nginx/junta-access-log.conf;" in conf
    assert "./deploy/nginx-access-log.conf:/etc/nginx/junta-access-log.conf:ro" in compose
    assert "access_log /dev/stdout junta;" in conf
    log_conf = LOG_CONF.read_text()
    assert "log_format junta" in log_conf
    # The format logs the mapped path only, never the raw request line, URI or query.
    log_format = log_conf.split("log_format junta", 1)[1]
    assert "$junta_logged_uri" in log_format
    for raw in ("$request ", "$request_uri", "$uri", "$args", "$query_string"):
        assert raw not in log_format, raw
    for prefix in ("invitation", "password-reset", "guest", "api/guest"):
        assert prefix in log_conf


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A real nginx on 127.0.0.1 with the deployed log format, answering 200 to everything."""
    binary = shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/usr/bin")
    require(binary is not None, "nginx (Debian nginx-light)")
    assert binary is not None
    port = _free_port()
    log = tmp_path / "access.log"
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process off;
pid {tmp_path / "nginx.pid"};
error_log {tmp_path / "error.log"};
events {{ worker_connections 16; }}
http {{
  include {LOG_CONF};
  access_log {log} junta;
  client_body_temp_path {temp["body"]};
  proxy_temp_path {temp["proxy"]};
  fastcgi_temp_path {temp["fastcgi"]};
  uwsgi_temp_path {temp["uwsgi"]};
  scgi_temp_path {temp["scgi"]};
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "ok"; }}
  }}
}}
"""
    )
    checked = subprocess.run(
        [binary, "-t", "-c", str(conf), "-p", str(tmp_path)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        for _ in range(100):  # bounded wait for the port to open
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                time.sleep(0.05)
        yield port, log
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_nginx_logs_mailed_links_without_their_tokens(nginx: tuple[int, Path]) -> None:
    port, log = nginx
    for path in LOGGED:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            assert reply.status == 200
    written = log.read_text()
    assert TOKEN not in written
    assert TOKEN.split(".")[0] not in written
    lines = written.splitlines()
    assert len(lines) == len(LOGGED)
    for line, shown in zip(lines, LOGGED.values(), strict=True):
        assert f'"GET {shown}"' in line, line
