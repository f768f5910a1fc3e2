"""The `junta` command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from casebook import accounts, demo
from casebook.db import create_engine, session_factory
from tests.services import free_port

REPO = Path(__file__).resolve().parents[3]
JUNTA = [sys.executable, "-m", "web.app.cli"]


def junta(
    *args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JUNTA_SECRET_KEY": "k" * 40,
        "JUNTA_ARGON2_TIME_COST": "1",
        "JUNTA_ARGON2_MEMORY_KIB": "1024",
        "JUNTA_ARGON2_PARALLELISM": "1",
        **(env or {}),
    }
    return subprocess.run(
        [*JUNTA, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=environ,
        timeout=60,
    )


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = junta("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("serve", "db", "demo", "users"):
        assert command in result.stdout
    serve = junta("serve", "--help", cwd=tmp_path)
    assert "--demo" in serve.stdout and "--port" in serve.stdout


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("junta")
    if not script.exists():
        pytest.skip("project not installed in this environment (pip install -e .)")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "users" in result.stdout


async def test_users_create_reads_the_password_from_stdin(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}"
    env = {"JUNTA_DATABASE_URL": url}
    assert junta("demo", cwd=tmp_path, env=env).returncode == 0
    result = junta(
        "users", "create", "--email", "Nueva.Medica@Junta.Example", "--name",
        "Dra. Sofía Medina Luna", "--role", "specialist", "--center", "NTSSA000987",
        "--password-stdin", cwd=tmp_path, stdin="una-clave-muy-larga\n", env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "nueva.medica@junta.example" in result.stdout
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            user = await accounts.find_user_by_email(db, "nueva.medica@junta.example")
            assert user is not None
            assert (user.display_name, user.role, user.center.name) == (
                "Dra. Sofía Medina Luna", "specialist", "OncoCREAN Nayarit",
            )
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--center", "NOWHERE"], "no center matches 'NOWHERE'"),
        (["--center", "NTSSA000987", "--email", "admin@junta.example"], "exists already"),
    ],
)
def test_users_create_errors_are_one_clear_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    env = {"JUNTA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}"}
    junta("demo", cwd=tmp_path, env=env)
    base = {"--email": "x@junta.example", "--name": "Dr. X", "--role": "trainee"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [part for pair in base.items() for part in pair]
    result = junta(
        "users", "create", *flat, "--password-stdin", cwd=tmp_path,
        stdin="una-clave-muy-larga\n", env=env,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


async def test_demo_refuses_a_database_that_has_users_unless_forced(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'junta.db'}"
    env = {"JUNTA_DATABASE_URL": url}
    assert junta("demo", cwd=tmp_path, env=env).returncode == 0  # no users yet: loads

    again = junta("demo", cwd=tmp_path, env=env)
    assert again.returncode != 0
    refusal = f"junta: error: the database already has {len(demo.USERS)} users"
    assert again.stderr.startswith(refusal)
    assert "--force" in again.stderr and "Traceback" not in again.stderr

    assert junta("demo", "--force", cwd=tmp_path, env=env).returncode == 0
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            assert await accounts.count_users(db) == len(demo.USERS)
    finally:
        await engine.dispose()


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    result = junta("db", "upgrade", cwd=tmp_path, env={"JUNTA_PORT": "eighty"})
    assert result.returncode != 0
    assert result.stderr.strip() == "junta: error: JUNTA_PORT must be a whole number, got 'eighty'"


def test_db_upgrade_creates_the_default_sqlite_database(tmp_path: Path) -> None:
    result = junta("db", "upgrade", cwd=tmp_path, env={"JUNTA_SECRET_KEY": ""})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "junta.db").is_file()
    assert (tmp_path / "var" / "secret_key").is_file()


def test_serve_demo_answers_and_stops_on_interrupt(tmp_path: Path) -> None:
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JUNTA_PORT": str(port),
        "JUNTA_ARGON2_TIME_COST": "1",
        "JUNTA_ARGON2_MEMORY_KIB": "1024",
        "JUNTA_ARGON2_PARALLELISM": "1",
    }
    process = subprocess.Popen(
        [*JUNTA, "serve", "--demo"], cwd=tmp_path, env=environ,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1) as reply:
                    html = reply.read().decode()
                    break
            except OSError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "junta serve did not start"
                time.sleep(0.1)
        assert "Iniciar sesión" in html
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "demo.loaded" in output


def installed_distribution(site: Path, name: str, version: str) -> None:
    """Make `name` look installed at `version` to importlib.metadata for a process whose path
    starts with `site` (the modules imported stay the real ones)."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.mark.parametrize("command", ["serve", "media"])
def test_serving_refuses_another_aiortc_than_the_pinned_one(tmp_path: Path, command: str) -> None:
    site = tmp_path / "site"
    installed_distribution(site, "aiortc", "1.15.0")
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(REPO)]), "JUNTA_PORT": str(free_port()),
           "JUNTA_MEDIA_PORT": str(free_port())}
    result = junta(command, cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "junta: error: aiortc 1.15.0 is installed but Junta requires aiortc==1.16.0 "
        "(install requirements/run.lock, see README.md)"
    )
    assert not (tmp_path / "var").exists()
