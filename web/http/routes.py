"""The route table: every route of the app is one `Route`, registered by `register_routes`.

A `Route` says who may use it (`roles`: sign-in, then the role, else `403 role_not_allowed`;
None: the gate lets everyone through and the handler decides), and for the JSON API what it
takes and returns. `register_routes(app, routes)`, called once by the app factory, puts the gate
in front of each handler and keeps the declarations, so the OpenAPI document (`web.http.openapi`,
which leaves out `page` routes) and the authorization tests are generated from the table the
router serves.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.ascii_numbers import parse_ascii_int
from casebook.cases import Caller
from casebook.models import Role
from casebook.workflow import CLINICAL_ROLES
from web.app.keys import SESSIONS
from web.http.auth import client_address, require_user
from web.http.errors import WebError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

ALL_ROLES: frozenset[Role] = frozenset(Role)
# Everyone who may read clinical content in some case (admins never do).
CLINICAL_READERS: frozenset[Role] = ALL_ROLES - {Role.ADMIN}
CLINICAL: frozenset[Role] = CLINICAL_ROLES
COORDINATORS: frozenset[Role] = frozenset({Role.COORDINATOR})
ADMINS: frozenset[Role] = frozenset({Role.ADMIN})
# Postgres `integer`: larger ids cannot exist, and must be a 404, not a database error.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Route:
    """One route: an operation of the JSON API, or (`page=True`) an HTML page or form target.

    `roles=None`: no gate (public, or the handler checks the caller itself). `name=None`: the
    route is known by its method and path (`route_key`).
    """

    method: str
    path: str
    handler: Handler
    name: str | None = None
    roles: frozenset[Role] | None = None
    page: bool = False
    # What the OpenAPI document says of an API operation.
    summary: str = ""
    description: str = ""
    body: type[BaseModel] | None = None
    multipart: bool = False
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    # A reply that is not the JSON of `response`: the media types it may have (a PDF, a FHIR
    # Bundle, an attachment's type).
    media_types: tuple[str, ...] = ()
    tag: str = "casebook"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """How the table knows the route: its name, else its method and path."""
        return route_key(self.method, self.path, self.name)


def route_key(method: str, path: str, name: str | None) -> str:
    """A route's name, or `"METHOD /path"` for an unnamed one."""
    return name or f"{method} {path}"


def page_route(
    method: str,
    path: str,
    handler: Handler,
    name: str | None,
    roles: frozenset[Role] | None,
) -> Route:
    """An HTML page or form target (left out of the OpenAPI document)."""
    return Route(method, path, handler, name, roles, page=True)


ROUTES = web.AppKey("routes", dict)  # route key → Route


class RoleNotAllowed(WebError):
    """The caller's role may never use this operation (independent of any particular record)."""

    def __init__(self, what: str = "operation") -> None:
        super().__init__(403, "role_not_allowed", f"your role may not use this {what}")


def declarations(app: web.Application) -> dict[str, Route]:
    """Every route of the app, by route key."""
    if ROUTES not in app:
        app[ROUTES] = {}
    routes: dict[str, Route] = app[ROUTES]
    return routes


def register_routes(app: web.Application, routes: list[Route]) -> None:
    """Add the routes to the router behind their gates, and keep their declarations."""
    declared = declarations(app)
    for route in routes:
        if route.key in declared:
            raise ValueError(f"route {route.key} is declared twice")
        declared[route.key] = route
        handler = _gated(route) if route.roles is not None else route.handler
        app.router.add_route(route.method, route.path, handler, name=route.name)


def _gated(route: Route) -> Handler:
    roles = route.roles
    assert roles is not None
    refusal = "page" if route.page else "operation"

    async def handler(request: web.Request) -> web.StreamResponse:
        user = require_user(request)
        if Role(user.role) not in roles:
            raise RoleNotAllowed(refusal)
        return await route.handler(request)

    handler.__doc__ = route.handler.__doc__
    return handler


# ---------------------------------------------------------------- input


def caller(request: web.Request) -> Caller:
    """The signed-in caller of this request, with their address for the audit trail."""
    return Caller.of(require_user(request), client_address(request))


def _clean_text(value: str) -> str:
    # PostgreSQL refuses NUL in text, and lone surrogates cannot be stored as UTF-8 anywhere.
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


Text = Annotated[str, AfterValidator(_clean_text)]


def invalid(error: ValidationError) -> WebError:
    """A 400 that says which field is wrong (never echoing the value: it may be clinical)."""
    first = error.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return WebError(400, "invalid_request", f"{where}: {first['msg']}")


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The JSON body as `model`; 400 `invalid_request` if it does not fit."""
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as error:
        raise invalid(error) from None


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`; 400 `invalid_request` if it does not fit."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as error:
        raise invalid(error) from None


def int_param(request: web.Request, name: str) -> int:
    """A numeric path parameter; out of range is simply not found."""
    value = parse_ascii_int(request.match_info[name], 1, MAX_ID)
    if value is None:
        raise WebError(404, "not_found", "not found")
    return value


@asynccontextmanager
async def transaction(request: web.Request) -> AsyncIterator[AsyncSession]:
    """A database session for one API operation, committed when the block ends without error
    (an error leaves nothing behind: the session rolls back as it closes)."""
    async with request.app[SESSIONS]() as db:
        yield db
        await db.commit()


def json_reply(model: BaseModel, status: int = 200) -> web.Response:
    """`model` as the JSON reply; never cached (clinical content)."""
    return web.Response(
        text=model.model_dump_json(),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


_PATH_PARAM = re.compile(r"\{(\w+)(?::([^}]+))?\}")


def path_params(path: str) -> list[tuple[str, str | None]]:
    """The `{name}` / `{name:regex}` parameters of an aiohttp path."""
    return [(m.group(1), m.group(2)) for m in _PATH_PARAM.finditer(path)]


def openapi_path(path: str) -> str:
    """The OpenAPI form of an aiohttp path: `{id:\\d+}` → `{id}`."""
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", path)
