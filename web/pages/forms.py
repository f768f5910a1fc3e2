"""What the page handlers share: rendering with the case labels, and posted form fields parsed
into the API's own pydantic models (pages are declared as `web.http.routes.Route`s)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from aiohttp import web
from multidict import MultiDictProxy
from pydantic import BaseModel, ValidationError

from web.pages.field_errors import FieldError, field_errors
from web.render.case_labels import labels
from web.render.context import render

M = TypeVar("M", bound=BaseModel)


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


def parse_form(
    model: type[M], data: Mapping[str, Any]
) -> tuple[M | None, dict[str, FieldError]]:
    """`data` as `model`, or None with what is wrong with each field that does not fit."""
    try:
        return model.model_validate(dict(data)), {}
    except ValidationError as error:
        return None, field_errors(error)


def blank_to_none(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """Empty optional form fields mean "not given"."""
    for name in names:
        if data.get(name) == "":
            data.pop(name)
    return data
