"""What is wrong with each field of a refused form, in words for people (WCAG 3.3.1, 3.3.3).

Pure: pydantic's validation errors in, one `FieldError` per field out (the first problem of
each). The form macros (`web/templates/form_macros.html`) show it beside its field, make it the
field's accessible description and list it in the error summary at the top of the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from web.pages.refusal_messages import N_


@dataclass(frozen=True)
class FieldError:
    """A message id (translated when shown) and the values it names."""

    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


REQUIRED = FieldError(N_("Fill in this field."))
# By pydantic's error type: the message and the context values it names.
BY_TYPE: dict[str, tuple[str, tuple[str, ...]]] = {
    "missing": (REQUIRED.message, ()),
    "string_too_long": (N_("Write at most %(max_length)s characters."), ("max_length",)),
    "int_parsing": (N_("Write a whole number."), ()),
    "int_type": (N_("Write a whole number."), ()),
    "greater_than_equal": (N_("Write %(ge)s or more."), ("ge",)),
    "less_than_equal": (N_("Write %(le)s or less."), ("le",)),
    "enum": (N_("Choose one of the options."), ()),
    "literal_error": (N_("Choose one of the options."), ()),
    "datetime_parsing": (N_("Write a date and a time."), ()),
    "datetime_from_date_parsing": (N_("Write a date and a time."), ()),
    "timezone_aware": (N_("Write a date and a time."), ()),
    "too_long": (N_("Choose at most %(max_length)s."), ("max_length",)),
}
# A field's own rule (a `ValueError` in its validator), said the way its form asks for it.
BY_FIELD = {
    "patient_initials": N_("Write only the initials: 1 to 6 letters, never a name."),
    "icd10_code": N_("Write an ICD-10 code, for example C91.0 or C71."),
    "starts_at": N_("Write a date between the years 2000 and 2100."),
}
UNCLEAR = N_("Check this value.")
# What an empty field asks for where "Fill in this field." would not say it (a choice).
REQUIRED_BY_FIELD = {"patient_sex": FieldError(N_("Choose the patient's sex."))}


def field_error(problem: ErrorDetails) -> FieldError:
    """One pydantic problem in words for the person filling in the form."""
    kind = problem["type"]
    name = str(problem["loc"][0]) if problem["loc"] else ""
    if problem.get("input") == "":  # a form sends an empty field as ""
        return REQUIRED_BY_FIELD.get(name, REQUIRED)
    if kind == "string_too_short":
        minimum = (problem.get("ctx") or {}).get("min_length", 1)
        if minimum <= 1:
            return REQUIRED
        return FieldError(N_("Write at least %(min_length)s characters."), {"min_length": minimum})
    if kind == "value_error" and name in BY_FIELD:
        return FieldError(BY_FIELD[name])
    if kind in BY_TYPE:
        message, names = BY_TYPE[kind]
        ctx = problem.get("ctx") or {}
        return FieldError(message, {n: ctx[n] for n in names if n in ctx})
    return FieldError(UNCLEAR)


def field_errors(error: ValidationError) -> dict[str, FieldError]:
    """The first problem of each field, by field name ("form" for the form as a whole)."""
    found: dict[str, FieldError] = {}
    for problem in error.errors(include_url=False):  # the input stays here, never shown
        name = str(problem["loc"][0]) if problem["loc"] else "form"
        found.setdefault(name, field_error(problem))
    return found
