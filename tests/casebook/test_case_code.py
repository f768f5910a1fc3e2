"""Public case codes `JC-<year>-<six digits>`: strict to write, forgiving of case and spaces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casebook.case_code import format_case_code, parse_case_code


def test_a_code_is_the_year_and_a_zero_padded_number() -> None:
    assert format_case_code(2026, 123) == "JC-2026-000123"
    assert format_case_code(2026, 1) == "JC-2026-000001"
    assert format_case_code(2031, 999_999) == "JC-2031-999999"


def test_a_code_parses_back_to_year_and_number() -> None:
    assert parse_case_code("JC-2026-000123") == (2026, 123)


def test_typed_codes_may_be_lower_case_and_padded_with_spaces() -> None:
    assert parse_case_code("  jc-2026-000123\n") == (2026, 123)


@pytest.mark.parametrize(
    ("year", "number", "message"),
    [
        (1999, 1, "year"),
        (10_000, 1, "year"),
        (2026, 0, "number"),
        (2026, -5, "number"),
        (2026, 1_000_000, "number"),
    ],
)
def test_out_of_range_parts_are_refused(year: int, number: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_case_code(year, number)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "JC-2026-123",  # not padded
        "JC-2026-0000123",  # seven digits
        "JC-26-000123",
        "XX-2026-000123",
        "JC2026000123",
        "JC-2026-000123x",
        "JC-2026-000123 JC-2026-000124",
        "JC–2026–000123",  # en dashes
        "JC-2026-００0123",  # fullwidth digits
        "JC-2026-٠٠٠١٢٣",  # Arabic-Indic digits: int() would accept them
        "JC-2026-+00123",
    ],
)
def test_malformed_codes_are_refused_with_the_expected_shape(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a case code: .*expected JC-YYYY-NNNNNN"):
        parse_case_code(text)


def test_number_zero_and_ancient_years_are_refused() -> None:
    with pytest.raises(ValueError, match="start at 000001"):
        parse_case_code("JC-2026-000000")
    with pytest.raises(ValueError, match="2000 or later"):
        parse_case_code("JC-1999-000001")


def test_the_error_does_not_echo_unbounded_input() -> None:
    with pytest.raises(ValueError) as refused:
        parse_case_code("x" * 10_000)
    assert len(str(refused.value)) < 200


years = st.integers(min_value=2000, max_value=9999)
numbers = st.integers(min_value=1, max_value=999_999)


@given(years, numbers)
def test_format_and_parse_are_inverse(year: int, number: int) -> None:
    code = format_case_code(year, number)
    assert len(code) == len("JC-2026-000123")
    assert parse_case_code(code) == (year, number)


@given(years, numbers, years, numbers)
def test_codes_sort_as_text_in_the_order_they_were_issued(
    y1: int, n1: int, y2: int, n2: int
) -> None:
    assert (format_case_code(y1, n1) < format_case_code(y2, n2)) == ((y1, n1) < (y2, n2))


@given(st.text(max_size=30))
def test_any_text_either_parses_to_a_valid_code_or_raises_value_error(text: str) -> None:
    try:
        year, number = parse_case_code(text)
    except ValueError:
        return
    assert format_case_code(year, number) == text.strip().upper()
