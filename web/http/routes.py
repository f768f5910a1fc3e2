"""Declared JSON API routes: each says who may call it and what it takes and returns.

An `ApiRoute` is registered with `register(app, routes)`, which puts a gate in front of the
handler (sign-in, then the declared roles: `403 role_not_allowed`) and keeps the declaration, so
the OpenAPI document (`web.http.openapi`) and the authorization tests are generated from the same
table the router serves. Routes registered elsewhere (`web.api.rooms`) are described with
`describe`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ValidationError

from casebook.cases import Caller
from casebook.models import Role
from casebook.workflow import CLINICAL_ROLES
from web.http.auth import client_address, require_user
from web.http.errors import WebError
from web.http.short_reads import declare_short_read

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
class ApiRoute:
    """One operation of the JSON API. `roles=None`: public (no sign-in needed)."""

    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    description: str
    roles: frozenset[Role] | None
    body: type[BaseModel] | None = None
    multipart: bool = False
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    binary_response: bool = False
    tag: str = "casebook"
    extra: dict[str, Any] = field(default_factory=dict)
    # A listing: its handler reads on the session lookup's connection (`web.http.short_reads`).
    short_read: bool = False


API_ROUTES = web.AppKey("api_routes", dict)  # route name → ApiRoute


class RoleNotAllowed(WebError):
    """The caller's role may never use this operation (independent of any particular record)."""

    def __init__(self) -> None:
        super().__init__(403, "role_not_allowed", "your role may not use this operation")


def declarations(app: web.Application) -> dict[str, ApiRoute]:
    """Every declared route of the app, by route name."""
    if API_ROUTES not in app:
        app[API_ROUTES] = {}
    routes: dict[str, ApiRoute] = app[API_ROUTES]
    return routes


def describe(app: web.Application, route: ApiRoute) -> None:
    """Declare a route registered elsewhere (its handler is served as is)."""
    declarations(app)[route.name] = route


def register(app: web.Application, routes: list[ApiRoute]) -> None:
    """Add the routes to the router behind their gates, and keep their declarations."""
    for route in routes:
        describe(app, route)
        app.router.add_route(route.method, route.path, _gated(route), name=route.name)
        if route.short_read:
            declare_short_read(app, route.name)


def _gated(route: ApiRoute) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        if route.roles is not None:
            user = require_user(request)
            if Role(user.role) not in route.roles:
                raise RoleNotAllowed()
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
    raw = request.match_info[name]
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise WebError(404, "not_found", "not found")
    return int(raw)


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
