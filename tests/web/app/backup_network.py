"""A network worth backing up, built through the API: cases in every state, attachments, a
finished recording with its consents, and the audit trail all of it leaves; and readers of what
a deployment holds (every row, every file's SHA-256) to compare a restore with."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import MetaData, select

from casebook import demo, recordings
from casebook.backup import values
from casebook.db import create_engine
from tests.casebook.recording_samples import copy_sample
from tests.web.api_helpers import NEW_CASE, PDF, PNG, Login, begin_session, sign_in, user_id
from web.app.keys import SESSIONS, SETTINGS

RECORDING_ID = "drill-recording"


async def build_network(client: TestClient[Any, Any], login_as: Login) -> list[str]:
    """Add cases in every state the demo lacks, with attachments and a recording; returns
    the codes of every case."""
    referrer = await sign_in(client, login_as, demo.REFERRER)
    codes = {}
    for name in ("information", "rejected", "withdrawn", "discussed", "recommended", "closed"):
        codes[name] = (await referrer.ok("POST", "/api/cases", NEW_CASE, status=201))["code"]
    assert (await referrer.upload(codes["information"], PDF)).status == 201
    assert (await referrer.upload(codes["closed"], PNG, "f.png")).status == 201
    await referrer.ok("POST", f"/api/cases/{codes['withdrawn']}/withdraw")
    for name in ("information", "rejected", "discussed", "recommended", "closed"):
        await referrer.ok("POST", f"/api/cases/{codes[name]}/submit")
    coordinator = await sign_in(client, login_as, demo.COORDINATOR)
    await coordinator.ok("POST", f"/api/cases/{codes['information']}/request-information",
                         {"question": "¿Biopsia reciente?"})
    await coordinator.ok("POST", f"/api/cases/{codes['rejected']}/reject", {"note": "Fuera de red"})
    chair = await user_id(client, demo.SPECIALIST_LA_RAZA)
    merida = await user_id(client, demo.SPECIALIST_MERIDA)
    session = await coordinator.ok("POST", "/api/sessions", {
        "kind": "consultation", "title": "Simulacro de respaldo",
        "starts_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        "duration_minutes": 60, "chair_user_id": chair, "invitees": [merida],
    }, status=201)
    sid = session["id"]
    for name in ("discussed", "recommended", "closed"):
        await coordinator.ok("POST", f"/api/cases/{codes[name]}/accept",
                             {"urgency": "priority", "specialty": "Oncología pediátrica"})
        await coordinator.ok("POST", f"/api/sessions/{sid}/agenda", {"case": codes[name]}, 201)
    specialist = await sign_in(client, login_as, demo.SPECIALIST_LA_RAZA)
    await begin_session(client.app, sid)
    for name in ("discussed", "recommended", "closed"):
        await specialist.ok("POST", f"/api/sessions/{sid}/agenda/{codes[name]}/discussed")
    await specialist.ok("PATCH", f"/api/sessions/{sid}", {"decisions": "Rescate quirúrgico."})
    for name in ("recommended", "closed"):
        await specialist.ok("POST", f"/api/cases/{codes[name]}/opinions", {"body": "Cirugía."},
                            status=201)
        await specialist.ok("POST", f"/api/cases/{codes[name]}/recommendation", {
            "diagnostic_criteria": "RMS embrionario, grupo III",
            "suggested_studies": "RM de órbita\nPET-CT",
            "treatment_suggestions": "Cirugía de rescate y radioterapia",
            "signatories": [merida],
        }, status=201)
    referrer = await sign_in(client, login_as, demo.REFERRER)
    await referrer.ok("POST", f"/api/cases/{codes['closed']}/close")
    await _recording(client, session["room_id"], chair)
    return await _all_codes(client)


async def _recording(client: TestClient[Any, Any], room_id: str, chair: str) -> None:
    async with client.app[SESSIONS]() as db:
        await recordings.begin_recording(
            db, room_id=room_id, started_by_user_id=chair, recording_id=RECORDING_ID
        )
        await recordings.record_consent(
            db, RECORDING_ID, peer_id="peer-lecturer", user_id=chair,
            display_name="Dr. Jorge Alberto Hernández Cruz", granted=True,
            notice_text="Esta sesión se graba.", notice_version="1", locale="es_MX",
        )
        manifest = copy_sample(client.app[SETTINGS].recordings_dir, RECORDING_ID, room_id)
        await recordings.complete_recording(
            db, manifest, {"peer-lecturer": "Dr. Jorge Alberto Hernández Cruz",
                           "peer-screen": "Pantalla"}
        )
        await db.commit()


async def _all_codes(client: TestClient[Any, Any]) -> list[str]:
    from casebook.models import Case

    async with client.app[SESSIONS]() as db:
        return list((await db.scalars(select(Case.code).order_by(Case.code))).all())


Rows = dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]


async def all_rows(url: str) -> Rows:
    """Every row of every table by primary key, values as the backup encodes them."""
    engine = create_engine(url)
    found: Rows = {}
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            for table in metadata.sorted_tables:
                keys = [c.name for c in table.primary_key.columns]
                rows = (await connection.execute(select(table))).mappings().all()
                found[table.name] = {
                    tuple(row[k] for k in keys): tuple(
                        (c, values.encode(row[c])) for c in sorted(row.keys())
                    )
                    for row in rows
                }
    finally:
        await engine.dispose()
    return found


def all_files(*roots: Path) -> dict[str, str]:
    """Every file under the roots (temporary ones left out) and its SHA-256."""
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "tmp" not in path.relative_to(root).parts:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
