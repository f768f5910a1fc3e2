"""The personal data export: everything about the caller as a person, nothing about others."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from casebook import accounts, demo
from casebook.models import Recording, RecordingConsent
from tests.web.helpers import audit_actions
from web.app.keys import SESSIONS

Login = Any


async def test_a_person_downloads_their_own_data_as_json(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, demo.SPECIALIST_LA_RAZA)
    reply = await web_client.get("/api/me/export")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.headers["Content-Disposition"].startswith(
        'attachment; filename="junta-personal-data-'
    )
    assert reply.headers["Cache-Control"] == "no-store"
    data = json.loads(await reply.text())
    assert data["format"] == "junta-personal-data/1"
    assert data["profile"]["email"] == demo.SPECIALIST_LA_RAZA
    assert data["profile"]["center"] == demo.LA_RAZA
    assert len(data["sessions"]) == 1 and data["sessions"][0]["ended_at"] is None
    assert data["security"]["two_factor_enabled_at"] is None
    assert {r["room"] for r in data["room_invitations"]} >= {"interconsulta-lla"}
    assert isinstance(data["consents"], list)
    actions = [e["action"] for e in data["audit"]]
    assert "auth.login" in actions and "privacy.export" in actions
    assert all(e["by_me"] or e["target_id"] == data["profile"]["id"] for e in data["audit"])
    # Credentials are not personal data to hand out: no password hash, TOTP secret or token.
    text = json.dumps(data)
    assert "argon2" not in text and "password_hash" not in text and "secret" not in text
    assert len(await audit_actions(web_client, "privacy.export")) == 1


async def test_the_export_holds_nobody_elses_actions(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, demo.SPECIALIST_MERIDA)
    await login_as(web_client, demo.SPECIALIST_LA_RAZA)
    data = await (await web_client.get("/api/me/export")).json(content_type=None)
    merida_logins = [
        e for e in data["audit"] if e["action"] == "auth.login" and not e["by_me"]
    ]
    assert merida_logins == []
    assert (await web_client.get("/api/me/export", allow_redirects=False)).status == 200


async def test_recording_consents_are_part_of_the_export(
    web_client: TestClient[Any, Any], login_as: Login
) -> None:
    await login_as(web_client, demo.SPECIALIST_LA_RAZA)
    async with web_client.app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, demo.SPECIALIST_LA_RAZA)
        assert user is not None
        db.add(
            Recording(
                id="rec-export-test", room_id="interconsulta-lla", kind="lecture",
                title="Sesión académica", started_by_user_id=user.id,
            )
        )
        await db.flush()
        db.add(
            RecordingConsent(
                recording_id="rec-export-test", peer_id="peer-1", user_id=user.id,
                display_name=user.display_name, granted=True, notice_text="Aviso de grabación",
                notice_version="1", locale="es_MX",
            )
        )
        await db.commit()
    data = await (await web_client.get("/api/me/export")).json(content_type=None)
    [consent] = data["consents"]
    assert consent["recording_id"] == "rec-export-test" and consent["granted"] is True
    assert consent["notice_text"] == "Aviso de grabación"
