"""Why the casebook pages refused a step, in words for people: the translated reason by the
service's error code, and the identifiers the check found (masked), as the pages list them.
"""

from __future__ import annotations

from collections.abc import Sequence

from casebook.errors import CasebookError
from casebook.identifiers import Finding, IdentifiersFound
from web.http.errors import CASEBOOK_STATUS


def N_(message: str) -> str:
    """Mark `message` for translation; templates translate it when shown."""
    return message


# Why a step was refused, by the service's error code (shown translated on the page).
REFUSALS = {
    "illegal_transition": N_(
        "This step is not possible now: the case may have changed. Reload the page."
    ),
    "not_allowed": N_("You may not take this step on this case."),
    "invalid_signatory": N_("Signatories must be consultants who took part in the session."),
    "too_large": N_("The file is too large."),
    "unsupported_type": N_("Only PDF, JPEG, PNG and DICOM files can be attached."),
    "unknown_user": N_("One of the chosen people cannot take part."),
    "invalid_chair": N_("The chair must be a coordinator, specialist or lecturer."),
    "session_not_empty": N_("Take the cases off the agenda before cancelling the session."),
    "invitee_outside_centers": N_(
        "Only a coordinator can invite people from a center not yet in the session: ask one"
        " to invite them."
    ),
    "session_not_started": N_("A case is marked discussed once its session has started."),
    "invalid_form": N_("Check the highlighted fields."),
    "not_found": N_("There is no such case or session, or it is not yours to see."),
    "no_file": N_("Choose a file to attach."),
    "not_editable": N_("Only a draft can be edited; this case has already been sent."),
    "identifiers_found": N_(
        "The case must not identify the patient. Remove what is listed below and try again;"
        " nothing you wrote was lost."
    ),
}
# Where and what `casebook.identifiers` found, as the referrer's page names them.
FINDING_FIELDS = {
    "diagnosis": N_("Diagnosis"),
    "stage": N_("Stage / risk group"),
    "treatment_so_far": N_("Treatment so far"),
    "clinical_question": N_("Clinical question"),
    "attachments": N_("File name"),
}
FINDING_KINDS = {
    "curp": N_("a CURP"),
    "nss": N_("a social security number (NSS)"),
    "phone": N_("a phone number"),
    "email": N_("an e-mail address"),
    "name": N_("the patient's name"),
}


def refusal_of(error: CasebookError) -> tuple[str, int]:
    """The page message and HTTP status for a refused step."""
    message = REFUSALS.get(error.code, N_("The request could not be processed"))
    return message, CASEBOOK_STATUS.get(error.code, 400)


def findings_of(error: CasebookError) -> list[dict[str, str]]:
    """The identifiers a refusal found, for the page (masked; labels translated there)."""
    if not isinstance(error, IdentifiersFound):
        return []
    return finding_rows(error.findings)


def finding_rows(findings: Sequence[Finding]) -> list[dict[str, str]]:
    """Findings as the pages list them (masked; labels translated there)."""
    return [
        {
            "field": f.field,
            "field_label": FINDING_FIELDS.get(f.field, f.field),
            "kind": FINDING_KINDS[f.kind.value],
            "masked": f.masked,
        }
        for f in findings
    ]

