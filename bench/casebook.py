"""The coordinators' queue and the case listing at network scale, against plain SQL.

    .venv/bin/python bench/casebook.py [--cases 100000] [--requests 2000] [--clients 16]

Creates its own PostgreSQL database (`junta_bench` on JUNTA_BENCH_POSTGRES, default the test
server 127.0.0.1:5432) and drops it at the end: the schema by the app's migrations, the demo
network plus centers up to 36 (every state of Mexico once, some twice), one referrer per new
center, and `--cases` cases bulk-loaded with COPY in a realistic mix of statuses (most closed;
a few thousand waiting in the queue), then VACUUM ANALYZE.

Measured in the same run, after a warm-up, by `--clients` concurrent clients (default 16), each
sending its next request as soon as its last reply is in; `--requests` requests of each kind in
all. The four kinds take turns in rounds (all clients on one kind, then the next), so that a
noisy moment costs them alike:
(a) app/queue: `GET /queue`, the coordinators' queue page, through the real app (aiohttp on a
    port, session cookie, middlewares, audit write, template), each client a lean keep-alive
    HTTP/1.1 connection (`Http`: one request written, the status line, headers and body read)
    with a coordinator's session of its own;
(b) app/api:   `GET /api/cases?status=accepted`, the JSON listing, likewise;
(c) sql/queue and sql/api: the same rows fetched by the same queries written in plain SQL, each
    client on an asyncpg connection of its own, with nothing else: the count, then the page
    (same filter, order and page size; the listed columns and the center's name). Plain SQL
    leaves out the caller's visibility condition (`casebook.visible_cases.visible_to`); so does
    the app here, where it is implied: a coordinator sees every case past draft
    (`access.sees_every_case_in`, backed by the cases table's check constraint
    `submitted_by_status`).
The clients run in the app's process (one process, as `junta serve` runs), so their own work
counts in the app's figures; `Http` costs a few microseconds a request, as asyncpg's client does
for the plain queries. Every reply is read in full and its status checked.
The ratio is app p95 / plain p95, reported for each listing. Target: both p95 under 25 ms and
at most 4x plain.
Last line: `result: queue_p95_ms=<a> api_p95_ms=<b> ratio=<max> target=25ms,4x met|missed`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on the path and its name would shadow the
# `casebook` package: the project's root goes first instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from casebook import accounts  # noqa: E402
from casebook.db import create_engine, session_factory  # noqa: E402
from casebook.demo import COORDINATOR  # noqa: E402
from casebook.models import Center, CenterKind, Role, User  # noqa: E402
from casebook.passwords import PasswordPolicy, Passwords  # noqa: E402
from web.app.factory import create_app, prepare_database  # noqa: E402
from web.app.heap import settle_collector_on_startup  # noqa: E402
from web.app.settings import Settings  # noqa: E402
from web.http.auth import SESSION_COOKIE  # noqa: E402

DATABASE = "junta_bench"
SERVER = os.environ.get(
    "JUNTA_BENCH_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
CENTERS = 36
TARGET_MS = 25.0
TARGET_RATIO = 4.0
ROUNDS = 10  # turns of the four kinds
STATES = [
    "Aguascalientes", "Baja California", "Baja California Sur", "Campeche", "Chiapas",
    "Chihuahua", "Ciudad de México", "Coahuila", "Colima", "Durango", "Estado de México",
    "Guanajuato", "Guerrero", "Hidalgo", "Jalisco", "Michoacán", "Morelos", "Nayarit",
    "Nuevo León", "Oaxaca", "Puebla", "Querétaro", "Quintana Roo", "San Luis Potosí",
    "Sinaloa", "Sonora", "Tabasco", "Tamaulipas", "Tlaxcala", "Veracruz", "Yucatán", "Zacatecas",
]
# (status, share of all cases): most are history, a few thousand wait for a coordinator.
MIX = [
    ("closed", 0.62), ("recommendation_issued", 0.06), ("rejected", 0.05), ("withdrawn", 0.03),
    ("draft", 0.04), ("submitted", 0.04), ("information_requested", 0.01), ("accepted", 0.08),
    ("scheduled", 0.05), ("discussed", 0.02),
]
DIAGNOSES = [
    ("Leucemia linfoblástica aguda de alto riesgo", "C91.0"),
    ("Meduloblastoma grupo 3", "C71.6"),
    ("Neuroblastoma estadio M", "C74.9"),
    ("Tumor de Wilms", "C64.9"),
    ("Osteosarcoma de fémur distal", "C40.2"),
    ("Retinoblastoma bilateral", "C69.2"),
]
URGENCY = [("urgent", 0, 0.1), ("priority", 1, 0.3), ("routine", 2, 0.6)]


def url_of(database: str) -> str:
    return make_url(SERVER).set(database=database).render_as_string(hide_password=False)


def dsn_of(database: str) -> str:
    url = make_url(SERVER).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def admin(statement: str) -> None:
    connection = await asyncpg.connect(dsn_of(make_url(SERVER).database or "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


# ---------------------------------------------------------------- loading


async def load(settings: Settings, cases: int) -> None:
    """Schema and demo network (the app's own code), then centers and cases in bulk."""
    cheap = Passwords(PasswordPolicy(time_cost=1, memory_kib=1024, parallelism=1))
    await prepare_database(settings, demo=True, passwords=cheap)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            existing = list((await db.scalars(select(Center))).all())
            for index in range(len(existing), CENTERS):
                db.add(
                    Center(
                        name=f"Hospital de la red {index + 1:02d}",
                        state=STATES[index % len(STATES)],
                        kind=CenterKind.GENERAL_HOSPITAL.value,
                        clues=f"BENCH{index:06d}",
                    )
                )
            await db.flush()
            centers = list((await db.scalars(select(Center).order_by(Center.id))).all())
            referrers = {}
            for center in centers:
                user = User(
                    email=f"referente{center.id}@bench.example",
                    display_name=f"Dr. Referente {center.id}",
                    password_hash="!bench-no-sign-in",
                    role=Role.REFERRER.value,
                    center_id=center.id,
                )
                db.add(user)
                referrers[center.id] = user
            await db.flush()
            refs = {center_id: user.id for center_id, user in referrers.items()}
            await db.commit()
    finally:
        await engine.dispose()
    records = list(case_records(cases, refs))
    connection = await asyncpg.connect(dsn_of(DATABASE))
    try:
        started = time.perf_counter()
        await connection.copy_records_to_table("cases", records=records, columns=CASE_COLUMNS)
        await connection.execute(
            "INSERT INTO case_counters (year, last_number) VALUES (2019, $1) "
            "ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number",
            cases,
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))"
        )
        loaded = time.perf_counter() - started
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    print(f"loaded {cases} cases across {CENTERS} centers with COPY in {loaded:.1f} s")


CASE_COLUMNS = [
    "code", "status", "referring_center_id", "referrer_user_id", "patient_initials",
    "patient_age_years", "patient_age_months", "patient_sex", "diagnosis", "icd10_code",
    "stage", "treatment_so_far", "clinical_question", "urgency", "urgency_rank", "specialty",
    "created_at", "updated_at", "submitted_at",
]


def case_records(count: int, referrers: dict[int, str]) -> Any:
    """`count` cases over the last three years: statuses by MIX, urgency by URGENCY."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    statuses = [s for s, _ in MIX]
    status_weights = [w for _, w in MIX]
    centers = list(referrers)
    for number in range(1, count + 1):
        status = rng.choices(statuses, status_weights)[0]
        urgency, rank, _ = rng.choices(URGENCY, [w for *_, w in URGENCY])[0]
        center = rng.choice(centers)
        diagnosis, icd10 = rng.choice(DIAGNOSES)
        # Waiting cases are recent; history spreads over three years.
        age = timedelta(hours=rng.uniform(1, 24 * 30)) if status in {
            "submitted", "information_requested", "accepted", "draft"
        } else timedelta(days=rng.uniform(1, 3 * 365))
        created = now - age - timedelta(hours=2)
        submitted = None if status == "draft" else created + timedelta(hours=1)
        yield (
            f"JC-2019-{number:06d}", status, center, referrers[center], "ABC",
            rng.randint(0, 17), rng.randint(0, 11), rng.choice(["female", "male"]),
            diagnosis, icd10, "Riesgo alto", "Quimioterapia de inducción",
            "¿Siguiente línea de tratamiento?", urgency, rank,
            None if status in {"draft", "submitted", "information_requested"}
            else "Oncología pediátrica",
            created, submitted or created, submitted,
        )


# ---------------------------------------------------------------- measuring


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


async def timed(
    clients: int, requests: int, calls: dict[str, list[Any]]
) -> dict[str, list[float]]:
    """Each kind's latency, `requests` times, from `clients` clients at once (`calls[kind][i]`
    is client i's call); the kinds take turns in `ROUNDS` rounds, so a noisy neighbour slows
    the app and its plain-SQL baseline alike, not one phase."""

    async def client(call: Any, count: int, taken: list[float] | None) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await call()
            if taken is not None:
                taken.append((time.perf_counter() - started) * 1000)

    async def turn(kind: str, count: int, taken: list[float] | None) -> None:
        await asyncio.gather(*(client(call, count, taken) for call in calls[kind]))

    for kind in calls:  # warm-up: caches, prepared statements, pools
        await turn(kind, 5, None)
    samples: dict[str, list[float]] = {kind: [] for kind in calls}
    per_client = max(1, requests // (clients * ROUNDS))
    for _ in range(ROUNDS):
        for kind in calls:
            await turn(kind, per_client, samples[kind])
    for kind, taken in samples.items():
        print(
            f"{kind:<10} median {statistics.median(taken):6.2f} ms   "
            f"p95 {p95(taken):6.2f} ms   max {max(taken):6.2f} ms   ({len(taken)} requests)"
        )
    return samples


QUEUE_WHERE = (
    "cases.status IN ('submitted', 'information_requested', 'accepted') "
    "AND cases.submitted_at IS NOT NULL"
)
API_WHERE = "cases.status = 'accepted'"
# The columns the listings show (the app reads these and the center's name, no more).
LISTED = ", ".join(
    f"cases.{column}"
    for column in (
        "id", "code", "status", "urgency", "specialty", "referring_center_id",
        "patient_initials", "patient_age_years", "patient_age_months", "patient_sex",
        "diagnosis", "icd10_code", "submitted_at", "updated_at",
    )
) + ", centers.name"


async def plain(connection: asyncpg.Connection, where: str, order: str, limit: int) -> None:
    """The count the pager shows, then the page: two statements, as a person would write them."""
    await connection.fetchval(f"SELECT count(*) FROM cases WHERE {where}")
    rows = await connection.fetch(
        f"SELECT {LISTED} FROM cases JOIN centers ON centers.id = cases.referring_center_id "
        f"WHERE {where} ORDER BY {order} LIMIT {limit}"
    )
    assert rows


class Http:
    """A keep-alive HTTP/1.1 client for one server: GET a path, read the whole reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: str):
        self.reader, self.writer, self.head = reader, writer, head

    @classmethod
    async def connect(cls, port: int, cookie: str) -> Http:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer, f"Host: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n")

    async def get(self, path: str) -> int:
        """The reply's status, once its body (Content-Length bytes) is read."""
        self.writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1])

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def session_token(app: web.Application) -> str:
    """A coordinator's session (their second factor is the demo's; the form is not the point)."""
    from web.app.keys import SESSIONS

    async with app[SESSIONS]() as db:
        user = await accounts.find_user_by_email(db, COORDINATOR)
        assert user is not None
        token, _ = await accounts.start_session(db, user, ip="127.0.0.1", user_agent="bench")
        await db.commit()
    return token


async def measure(settings: Settings, clients: int, requests: int) -> tuple[float, float, float]:
    app = create_app(settings)
    app.on_startup.append(settle_collector_on_startup)  # as `junta serve` does
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    https = [
        await Http.connect(port, f"{SESSION_COOKIE}={await session_token(app)}")
        for _ in range(clients)
    ]
    connections = [await asyncpg.connect(dsn_of(DATABASE)) for _ in range(clients)]

    def page(http: Http, path: str) -> Any:
        async def get() -> None:
            status = await http.get(path)
            assert status == 200, (path, status)

        return get

    def sql(connection: asyncpg.Connection, where: str, order: str, limit: int) -> Any:
        return lambda: plain(connection, where, order, limit)

    queue_order = "cases.urgency_rank, cases.submitted_at, cases.id"
    try:
        samples = await timed(
            clients,
            requests,
            {
                "app/queue": [page(http, "/queue") for http in https],
                "app/api": [page(http, "/api/cases?status=accepted") for http in https],
                "sql/queue": [sql(c, QUEUE_WHERE, queue_order, 50) for c in connections],
                "sql/api": [sql(c, API_WHERE, "cases.id DESC", 20) for c in connections],
            },
        )
    finally:
        for http in https:
            await http.close()
        for connection in connections:
            await connection.close()
        await runner.cleanup()
    app_queue, app_api = samples["app/queue"], samples["app/api"]
    sql_queue, sql_api = samples["sql/queue"], samples["sql/api"]
    queue_ratio = p95(app_queue) / p95(sql_queue)
    api_ratio = p95(app_api) / p95(sql_api)
    print(f"ratio app/plain p95: queue {queue_ratio:.2f}x, api {api_ratio:.2f}x")
    return p95(app_queue), p95(app_api), max(queue_ratio, api_ratio)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    await admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await admin(f"CREATE DATABASE {DATABASE}")
    storage = Path(f"/tmp/junta-bench-{uuid.uuid4().hex[:8]}")
    settings = Settings(
        secret_key=b"bench-secret-bench-secret-bench-secret!",
        database_url=url_of(DATABASE),
        storage_dir=storage / "storage",
        recordings_dir=storage / "recordings",
    )
    try:
        await load(settings, args.cases)
        queue_ms, api_ms, ratio = await measure(settings, args.clients, args.requests)
    finally:
        await admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    met = queue_ms < TARGET_MS and api_ms < TARGET_MS and ratio <= TARGET_RATIO
    print(
        f"result: queue_p95_ms={queue_ms:.1f} api_p95_ms={api_ms:.1f} ratio={ratio:.2f} "
        f"target={TARGET_MS:.0f}ms,{TARGET_RATIO:.0f}x {'met' if met else 'missed'}"
    )


if __name__ == "__main__":
    asyncio.run(main())
