"""The account-security settings: defaults, parsing and refused values."""

from __future__ import annotations

import pytest

from web.app.settings import Settings, SettingsError

SECRET = {"JUNTA_SECRET_KEY": "x" * 40}


def test_account_security_defaults() -> None:
    settings = Settings.from_env(SECRET)
    assert settings.lockout_threshold == 20 and settings.lockout_minutes == 15
    assert settings.session_idle_minutes == 30
    assert settings.invite_hours == 72 and settings.retention_years == 5


def test_account_security_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            **SECRET,
            "JUNTA_LOCKOUT_THRESHOLD": "10",
            "JUNTA_LOCKOUT_MINUTES": "60",
            "JUNTA_INVITE_HOURS": "24",
            "JUNTA_RETENTION_YEARS": "10",
        }
    )
    assert (settings.lockout_threshold, settings.lockout_minutes) == (10, 60)
    assert (settings.invite_hours, settings.retention_years) == (24, 10)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JUNTA_LOCKOUT_THRESHOLD", "0"),
        ("JUNTA_LOCKOUT_MINUTES", "many"),
        ("JUNTA_INVITE_HOURS", "0"),
        # Clinical records are kept at least five years (NOM-004-SSA3-2012).
        ("JUNTA_RETENTION_YEARS", "4"),
    ],
)
def test_bad_account_security_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({**SECRET, name: value})
