"""A refused form's problems in words for people: one message per field, from pydantic's."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from web.api.case_schemas import CaseDraftIn
from web.pages.field_errors import REQUIRED, UNCLEAR, FieldError, field_errors


def _odd(value: int) -> int:
    if value % 2 == 0:
        raise ValueError("must be odd")
    return value


class Form(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=5)]
    code: Annotated[str, Field(min_length=3)] = "abc"
    age: Annotated[int, Field(ge=0, le=25)] = 0
    odd: Annotated[int, AfterValidator(_odd)] = 1


def errors_of(data: dict[str, object], model: type[BaseModel] = Form) -> dict[str, FieldError]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return field_errors(refused.value)


def test_an_empty_or_missing_field_is_asked_for() -> None:
    assert errors_of({"name": ""}) == {"name": REQUIRED}
    assert errors_of({}) == {"name": REQUIRED}
    assert errors_of({"name": "a", "age": ""})["age"] == REQUIRED


def test_limits_are_named_with_their_values() -> None:
    found = errors_of({"name": "abcdefg", "code": "ab", "age": "30"})
    assert found["name"].params == {"max_length": 5}
    assert found["code"] == FieldError(
        "Write at least %(min_length)s characters.", {"min_length": 3}
    )
    assert found["age"] == FieldError("Write %(le)s or less.", {"le": 25})
    assert errors_of({"name": "a", "age": "-1"})["age"].params == {"ge": 0}
    assert errors_of({"name": "a", "age": "diez"})["age"].message == "Write a whole number."


def test_a_fields_own_rule_says_what_it_wants_and_an_unknown_one_asks_to_check() -> None:
    assert errors_of({"name": "a", "odd": 2}) == {"odd": FieldError(UNCLEAR)}
    case = {
        "patient_initials": "R.M.S.", "patient_age_years": 4, "patient_sex": "female",
        "diagnosis": "Rabdomiosarcoma", "icd10_code": "rabdo",
    }
    found = errors_of(case, CaseDraftIn)
    assert found == {"icd10_code": FieldError("Write an ICD-10 code, for example C91.0 or C71.")}
