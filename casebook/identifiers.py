"""Data minimization at the door: direct patient identifiers in a case's text and file names.

Before a case is submitted its free text and attachment file names are searched for what would
identify the patient: a CURP, an IMSS social security number (NSS), a Mexican phone number, an
e-mail address, and the patient's name as the form knows it. The form holds no full name, only
the patient's initials, so a run of capitalized words whose initials spell them ("Rosa María
Sánchez" for R.M.S.) is taken for the name; a full name given instead is looked for as written,
ignoring case and accents. Findings carry a masked copy of the match, so they can be shown
back to the referrer without repeating the identifier.

Pure logic, no I/O. Clinical text (ICD-10 codes, dates, lab values, ages, stages) is not flagged:
the patterns require an identifier's structure, and an NSS its check digit.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from casebook.errors import CasebookError

# Field name under which attachment file names are reported.
ATTACHMENTS_FIELD = "attachments"


class IdentifierKind(enum.StrEnum):
    """What kind of direct identifier was found."""

    CURP = "curp"
    NSS = "nss"
    PHONE = "phone"
    EMAIL = "email"
    NAME = "name"


@dataclass(frozen=True)
class Finding:
    """A direct identifier in `field`; `masked` shows only its edges."""

    field: str
    kind: IdentifierKind
    masked: str


_STATES = (
    "AS|BC|BS|CC|CL|CM|CS|CH|DF|DG|GT|GR|HG|JC|MC|MN|MS|NT|NL|OC|PL|QT|QR|SP|SL|SR|TC|TS|TL|VZ"
    "|YN|ZS|NE"
)
# RENAPO's structure: 4 letters from the name, birth date YYMMDD, sex (X: non-binary), state,
# 3 inner consonants, a homoclave and the check digit. The check digit is not verified: a CURP
# mistyped by one character still identifies the patient.
_CURP = re.compile(
    r"(?<![A-Za-z0-9])[A-Z][AEIOUX][A-Z]{2}\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
    rf"[HMX](?:{_STATES})[B-DF-HJ-NP-TV-Z]{{3}}[0-9A-Z]\d(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Delegation, registration year, birth year, serial and a Luhn check digit, grouped or not.
_NSS = re.compile(r"(?<![\w.,])\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{4}[ -]?\d(?![\w]|[.,]\d)")
# A 10-digit national number (area code of 2 or 3 digits), optionally after +52 (and the old
# mobile 1), in the ways people write them; the digit count is checked after matching.
_PHONE = re.compile(
    r"(?<![\w.,+])(?:\+?52[ .-]?(?:1[ .-]?)?)?"
    r"(?P<local>\(\d{2,3}\)[ .-]?\d{3,4}[ .-]?\d{4}|\d{2,3}[ .-]?\d{3,4}[ .-]?\d{4}"
    r"|\d{2}(?:[ .-]\d{2}){4})(?![\w]|[.,]\d)"
)
# A word that may be part of a name: Capitalized, or in capitals (forms are often typed so).
_NAME_WORD = re.compile(r"[^\W\d_][^\W\d_'’]*(?:['’][^\W\d_]+)?")
_CONNECTORS = frozenset({"de", "del", "la", "las", "los", "y", "e", "van", "von", "da", "di"})


def find_identifiers(
    texts: Mapping[str, str], file_names: Sequence[str], names: Sequence[str]
) -> list[Finding]:
    """Direct identifiers in free-text fields (by field name) and file names.

    `names` are the patient's name as the form holds it: initials ("R.M.S.") or a full name.
    """
    findings: list[Finding] = []
    for field, text in texts.items():
        findings.extend(_scan(field, text or "", names))
    for file_name in file_names:
        # File names separate words with _ - . : read as spaces for names (same length).
        findings.extend(_scan(ATTACHMENTS_FIELD, file_name, names, file_name=True))
    return findings


def mask(value: str) -> str:
    """`value` with all but its edges hidden: GOM*************01."""
    keep_start, keep_end = (3, 2) if len(value) >= 8 else (1, 0)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end :]


def _scan(field: str, text: str, names: Sequence[str], *, file_name: bool = False) -> list[Finding]:
    readable = re.sub(r"[_]", " ", text) if file_name else text
    taken: list[tuple[int, int]] = []
    found: list[Finding] = []
    for kind, start, end in _matches(readable, names, file_name):
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        found.append(Finding(field, kind, mask(text[start:end])))
    return found


def _matches(
    text: str, names: Sequence[str], file_name: bool
) -> Iterator[tuple[IdentifierKind, int, int]]:
    """Candidate spans, most specific kind first (overlaps are dropped by the caller)."""
    for m in _CURP.finditer(text):
        yield IdentifierKind.CURP, m.start(), m.end()
    for m in _EMAIL.finditer(text):
        yield IdentifierKind.EMAIL, m.start(), m.end()
    for m in _NSS.finditer(text):
        if luhn_valid(re.sub(r"\D", "", m.group())):
            yield IdentifierKind.NSS, m.start(), m.end()
    for m in _PHONE.finditer(text):
        if len(re.sub(r"\D", "", m.group("local"))) == 10:
            yield IdentifierKind.PHONE, m.start(), m.end()
    words = text.replace(".", " ").replace("-", " ") if file_name else text
    for name in names:
        letters = _initials_of(name)
        if letters is not None:
            yield from ((IdentifierKind.NAME, s, e) for s, e in _initials_spans(words, letters))
        else:
            yield from ((IdentifierKind.NAME, s, e) for s, e in _name_spans(words, name))


def luhn_valid(digits: str) -> bool:
    """True when the last digit is the Luhn check digit of the others (as the NSS's is)."""
    total = 0
    for position, char in enumerate(reversed(digits[:-1])):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10 == int(digits[-1])


def _fold(text: str) -> str:
    """Lower case without accents, one character per character (so spans stay valid)."""
    out = []
    for char in text:
        base = unicodedata.normalize("NFD", char)[0]
        out.append(base.lower() if len(base.lower()) == 1 else char)
    return "".join(out)


def _initials_of(name: str) -> str | None:
    """The letters of initials like "R.M.S." or "RMS"; None for a name written out."""
    compact = re.sub(r"[\s.]", "", name)
    initials = "." in name or compact.isupper()
    if initials and 2 <= len(compact) <= 4 and compact.isalpha():
        return _fold(compact)
    return None


def _is_name_word(word: str) -> bool:
    return word[0].isupper() and (len(word) >= 3 or not word.isupper())


def _initials_spans(text: str, letters: str) -> Iterator[tuple[int, int]]:
    """Runs of name words (connectors between them allowed) whose initials spell `letters`."""
    run: list[re.Match[str]] = []
    for word in [*_NAME_WORD.finditer(text), None]:
        if word is not None and _fold(word.group()) in _CONNECTORS and run:
            continue
        gap = text[run[-1].end() : word.start()] if run and word is not None else " "
        if word is not None and _is_name_word(word.group()) and _only_spaces_between(gap):
            run.append(word)
            continue
        yield from _spelling(run, letters)
        run = [word] if word is not None and _is_name_word(word.group()) else []


def _only_spaces_between(gap: str) -> bool:
    # Connectors (already skipped) may sit between name words; punctuation ends the run.
    return all(_fold(part) in _CONNECTORS for part in gap.split())


def _spelling(run: list[re.Match[str]], letters: str) -> Iterator[tuple[int, int]]:
    size = len(letters)
    for first in range(len(run) - size + 1):
        window = run[first : first + size]
        if "".join(_fold(w.group()[0]) for w in window) == letters:
            yield window[0].start(), window[-1].end()


def _name_spans(text: str, name: str) -> Iterator[tuple[int, int]]:
    """Where the full `name` appears, ignoring case, accents and spacing."""
    words = [re.escape(w) for w in _fold(name).split()]
    if len(words) < 2:
        return
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")
    for m in pattern.finditer(_fold(text)):
        yield m.start(), m.end()


# The free-text fields of a case that are searched (structured ones cannot hold identifiers).
CASE_TEXT_FIELDS = ("diagnosis", "stage", "treatment_so_far", "clinical_question")


class IdentifiersFound(CasebookError):
    """The case's text or a file name holds direct identifiers; they must be removed first."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__(
            "identifiers_found",
            "remove the patient's direct identifiers: "
            + ", ".join(f"{f.kind.value} in {f.field}" for f in findings),
        )
        self.findings = list(findings)
