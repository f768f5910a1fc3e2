"""Settings come from JUNTA_* variables; bad values name the variable."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from web.app.settings import Settings, SettingsError, stored_secret

SECRET = "s" * 40


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.database_url == "sqlite+aiosqlite:///var/junta.db"
    assert settings.redis_url is None
    assert settings.recordings_dir == Path("var/recordings")
    assert (settings.stun_urls, settings.turn_urls, settings.turn_secret) == ((), (), None)
    assert (settings.turn_ttl, settings.reconnect_grace) == (21600, 20.0)
    assert (settings.session_idle_minutes, settings.cookie_secure) == (30, False)
    assert settings.default_locale == "es_MX"
    assert (settings.login_max_failures_per_account, settings.login_max_failures_per_address) == (
        5,
        20,
    )


def test_generated_secret_is_kept_private_and_stable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    first = Settings.from_env({}).secret_key
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(first) >= 32
    assert Settings.from_env({}).secret_key == first


def _read_secret(path: str, start: Any, results: Any) -> None:
    start.wait(10)
    results.put(stored_secret(Path(path)))


def test_processes_starting_together_agree_on_the_generated_secret(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    context = multiprocessing.get_context("spawn")
    for attempt in range(3):
        start, results = context.Barrier(4), context.Queue()
        workers = [
            context.Process(target=_read_secret, args=(str(path), start, results))
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        found = [results.get(timeout=30) for _ in workers]
        for worker in workers:
            worker.join(10)
        assert len(set(found)) == 1 and len(found[0]) >= 32, (attempt, found)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        path.unlink()


def test_a_secret_file_left_empty_is_refused_not_used_as_an_empty_key(tmp_path: Path) -> None:
    # What another process starting at the same moment would see between creating the file and
    # writing it, or what a crash at that moment leaves behind.
    path = tmp_path / "secret_key"
    path.touch(mode=0o600)
    with pytest.raises(SettingsError, match="secret_key"):
        stored_secret(path)


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "JUNTA_SECRET_KEY": SECRET,
            "JUNTA_HOST": "0.0.0.0",
            "JUNTA_PORT": "9000",
            "JUNTA_DATABASE_URL": "postgresql+asyncpg://junta@db/junta",
            "JUNTA_REDIS_URL": "redis://localhost:6379/0",
            "JUNTA_STUN_URLS": "stun:a:3478, stun:b:3478",
            "JUNTA_TURN_URLS": "turn:a:3478?transport=udp,turns:a:5349",
            "JUNTA_TURN_SECRET": "shh",
            "JUNTA_TURN_TTL": "3600",
            "JUNTA_RECONNECT_GRACE": "2.5",
            "JUNTA_SESSION_IDLE_MINUTES": "15",
            "JUNTA_COOKIE_SECURE": "true",
            "JUNTA_DEFAULT_LOCALE": "en",
        }
    )
    assert settings.secret_key == SECRET.encode()
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    assert settings.stun_urls == ("stun:a:3478", "stun:b:3478")
    assert settings.turn_urls == ("turn:a:3478?transport=udp", "turns:a:5349")
    assert (settings.turn_secret, settings.turn_ttl, settings.reconnect_grace) == ("shh", 3600, 2.5)
    assert (settings.session_idle_minutes, settings.cookie_secure) == (15, True)
    assert settings.default_locale == "en"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JUNTA_PORT", "eighty"),
        ("JUNTA_PORT", "70000"),
        ("JUNTA_DATABASE_URL", "mysql://x"),
        ("JUNTA_COOKIE_SECURE", "maybe"),
        ("JUNTA_RECONNECT_GRACE", "soon"),
        ("JUNTA_STUN_URLS", "http://stun.example"),
        ("JUNTA_TURN_URLS", "turn:a:3478"),  # without JUNTA_TURN_SECRET
        ("JUNTA_SESSION_IDLE_MINUTES", "0"),
        ("JUNTA_DEFAULT_LOCALE", "fr"),
        ("JUNTA_SECRET_KEY", "short"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    environ = {"JUNTA_SECRET_KEY": SECRET, name: value}
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(environ)


def test_settings_are_frozen() -> None:
    settings = Settings(secret_key=b"x" * 32)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
