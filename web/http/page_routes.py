"""What the casebook's page handlers share: rendering with the case labels, form fields parsed
into the API's own pydantic models, times in the network's timezone.

The pages themselves are declared as `web.http.routes.Route`s (`page_route`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ValidationError

from casebook.messages import DEFAULT_TIMEZONE
from web.render.case_labels import labels
from web.render.context import render

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

NETWORK_TZ = ZoneInfo(DEFAULT_TIMEZONE)


async def render_page(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    """`render` with the casebook's label tables (`web.render.case_labels`) in the context."""
    return await render(request, template, {"labels": labels(request), **context}, status=status)


# ---------------------------------------------------------------- forms


async def form_fields(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form (already parsed by the CSRF check for form content types)."""
    return await request.post()


def text_fields(form: Mapping[str, Any], names: list[str]) -> dict[str, str]:
    """The named text fields as given (files and missing fields left out), for re-display."""
    values = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str):
            values[name] = value
    return values


def parse_form(model: type[M], data: Mapping[str, Any]) -> tuple[M | None, list[str]]:
    """`data` as `model`, or None with the names of the fields that do not fit."""
    try:
        return model.model_validate(dict(data)), []
    except ValidationError as error:
        fields = []
        for problem in error.errors(include_input=False, include_url=False):
            name = str(problem["loc"][0]) if problem["loc"] else "form"
            if name not in fields:
                fields.append(name)
        return None, fields


def blank_to_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """Empty optional form fields mean "not given"."""
    for name in names:
        if data.get(name) == "":
            data.pop(name)
    return data


# ---------------------------------------------------------------- showing times


def local_time(value: datetime | None) -> str:
    """A stored UTC time as the network reads it (Mexico City), e.g. `2026-11-23 08:15 CST`."""
    if value is None:
        return ""
    local = value.astimezone(NETWORK_TZ)
    # isoformat, cut before the offset: the same text as strftime's, in 60 % of its time (the
    # queue shows two times on each of its 50 rows).
    return f"{local.isoformat(' ', 'minutes')[:16]} {local.tzname()}"


def parse_local(value: str) -> datetime | None:
    """A `datetime-local` form value, read in the network's timezone; None if malformed."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=NETWORK_TZ)


def local_input(value: datetime) -> str:
    """A stored time as a `datetime-local` form value in the network's timezone."""
    return f"{value.astimezone(NETWORK_TZ):%Y-%m-%dT%H:%M}"
