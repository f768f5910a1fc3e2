"""Schemathesis against `/api/openapi.json` on a live server: generated input never causes a 5xx.

Bounded: `EXAMPLES` per operation, per signed-in role (a coordinator reaches most operations
past their role gate; a referrer reaches the referral ones). SQLite only: the database code
paths are the same on PostgreSQL, and the other API tests run there.
"""

from __future__ import annotations

import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from casebook import demo
from casebook.db import create_engine, session_factory
from casebook.models import Case, ReviewSession
from tests.conftest import csrf_from_html
from tests.live import LiveServer

EXAMPLES = int(os.environ.get("JUNTA_FUZZ_EXAMPLES", "50"))


async def _codes_and_board(url: str) -> tuple[list[str], int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            codes = list((await db.scalars(select(Case.code))).all())
            board = await db.scalar(
                select(ReviewSession.id).where(ReviewSession.room_id == demo.BOARD_ROOM)
            )
            return codes, board or 1
    finally:
        await engine.dispose()


@pytest.mark.parametrize("email", [demo.COORDINATOR, demo.REFERRER])
def test_generated_requests_never_cause_a_server_error(
    live_server: LiveServer, email: str
) -> None:
    http = requests.Session()
    cookie = live_server.session_cookie(email)
    http.cookies.set(cookie["name"], cookie["value"])
    dashboard = http.get(f"{live_server.url}/dashboard", timeout=10)
    assert dashboard.status_code == 200
    headers = {"X-CSRF-Token": csrf_from_html(dashboard.text)}
    document = http.get(f"{live_server.url}/api/openapi.json", timeout=10).json()
    # Signed in already: generated credentials would only test the sign-in gate, 30 times over.
    document["components"].pop("securitySchemes")
    for item in document["paths"].values():
        for operation in item.values():
            operation.pop("security", None)
    schema = schemathesis.openapi.from_dict(document)
    codes, board = live_server.run(_codes_and_board(live_server.settings.database_url))
    targets = [(code, str(board)) for code in codes]
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(), real=st.sampled_from([None, *targets]))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: schemathesis.Case, real: tuple[str, str] | None) -> None:
            # Half the time aim at records that exist, to get past the 404s into the handlers.
            if real is not None and case.path_parameters:
                code, session_id = real
                for name, value in (("code", code), ("session_id", session_id)):
                    if name in case.path_parameters:
                        case.path_parameters[name] = value
            response = case.call(
                base_url=live_server.url, session=http, headers=headers, timeout=10
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} → {response.status_code}: "
                    f"{response.text[:200]}"
                )

        run()
    assert operations >= 25
    assert not failures, "\n".join(failures[:20])
    assert statuses.get(200, 0) > 20, statuses  # the fuzzing got past the gates
