"""Helpers for the JSON API tests: signed-in clients per demo user, sample files, case lookups."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from casebook import demo
from casebook.clock import utcnow
from casebook.models import Case, ReviewSession, User
from web.app.keys import SESSIONS

Login = Callable[..., Awaitable[str]]

NEW_CASE: dict[str, Any] = {
    "patient_initials": "r.m.s.",
    "patient_age_years": 6,
    "patient_age_months": 3,
    "patient_sex": "female",
    "diagnosis": "Rabdomiosarcoma embrionario de órbita",
    "icd10_code": "c69.6",
    "stage": "Grupo III IRS",
    "treatment_so_far": "VAC 4 ciclos",
    "clinical_question": "¿Radioterapia o cirugía de rescate?",
    "urgency": "priority",
}

# Smallest files each check accepts (see casebook/filetypes.py).
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20 + b"\xff\xd9"
DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00\x00\x00\x00\x00" + b"\x00" * 16
EXECUTABLE = b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode"
TRUNCATED_DICOM = b"\x00" * 128 + b"DICM"


class Api:
    """A signed-in client for one demo user, sending the CSRF token on every request."""

    def __init__(self, client: TestClient[Any, Any], csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    async def call(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        """Send a request; returns the response (body read)."""
        headers = {"X-CSRF-Token": self.csrf}
        response = await self.client.request(method, path, json=json, headers=headers, **kwargs)
        await response.read()
        return response

    async def ok(self, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        """Send a request that must succeed with `status`; returns the JSON body."""
        response = await self.call(method, path, json)
        body = await response.json() if response.status != 204 else None
        assert response.status == status, (method, path, response.status, body)
        return body

    async def upload(self, code: str, content: bytes, filename: str = "f.pdf") -> Any:
        """Upload a file to a case as multipart field `file`."""
        form = FormData()
        form.add_field("file", content, filename=filename, content_type="application/pdf")
        return await self.call("POST", f"/api/cases/{code}/attachments", data=form)


async def sign_in(client: TestClient[Any, Any], login_as: Login, email: str) -> Api:
    """`Api` for `email` on `client` (signing in replaces whoever was signed in there)."""
    return Api(client, await login_as(client, email))


async def user_id(client: TestClient[Any, Any], email: str) -> str:
    """The id of a demo user."""
    async with client.app[SESSIONS]() as db:
        found = await db.scalar(select(User.id).where(User.email == email))
    assert found is not None
    return found


async def demo_case(client: TestClient[Any, Any], diagnosis: str) -> str:
    """The code of a demo case, by its diagnosis."""
    async with client.app[SESSIONS]() as db:
        code = await db.scalar(select(Case.code).where(Case.diagnosis == diagnosis))
    assert code is not None, diagnosis
    return code


DRAFT = demo.CASES[3][0]  # Tumor de Wilms bilateral: a draft of HGR No. 20
SCHEDULED = demo.CASES[1][0]  # Meduloblastoma grupo 3: on the board's agenda
ACCEPTED = demo.CASES[2][0]  # Neuroblastoma estadio M
SUBMITTED = demo.CASES[0][0]  # LLA de alto riesgo


async def begin_session(app: web.Application, session_id: int | str) -> None:
    """The session's meeting has begun: its start moves a minute into the past (a case is
    marked discussed only once its session has started). Straight in the database, so nobody
    is sent a changed invitation."""
    async with app[SESSIONS]() as db:
        await db.execute(
            update(ReviewSession)
            .where(ReviewSession.id == int(session_id))
            .values(starts_at=utcnow() - timedelta(minutes=1))
        )
        await db.commit()
