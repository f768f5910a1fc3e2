"""A case as a FHIR R4 `Bundle` (type collection), for the referring hospital's record system.

FHIR version: R4, built and validated with `fhir.resources.R4B` (4.3). The package's default
models are R5, but the Mexican health sector's interoperability work and most EHRs speak R4, and
R4B changed none of the resources used here, so this JSON reads as R4. Every resource is
constructed through its `fhir.resources` model: a validation error there is a bug here.

What goes where:
- `ServiceRequest`: the request for a second opinion. The clinical question is its `note`; the
  requester is the referring physician (`Practitioner`), the performer the network
  (`Organization`). Urgency → `priority` keeps the queue's order, because FHIR ranks
  routine < urgent < asap < stat: routine → routine, priority → urgent, urgent → asap
  (stat is "immediately", an emergency, which a review within 48 hours is not).
- `Patient`: a pseudonym. No name, no birth date: the initials as an identifier of a local
  system, `gender`, and the age at referral as an extension (`valueAge`, UCUM months). The
  casebook records age, not birth date, so a birth year would be a guess (wrong about half the
  time) that receivers would take for a fact.
- `Condition`: ICD-10 (`http://hl7.org/fhir/sid/icd-10`) with the code's WHO title as its
  display (none for a code ICD-10 2019 lacks), the referrer's own words as `code.text`, and the
  stage/risk group.
- `Task`: where the workflow is (see `TASK_STATUS`); `businessStatus` carries Junta's exact
  status, which the coarser FHIR code cannot.
- `Encounter` (class `VR`, virtual): the review session that has or had the case. Its chair is
  the primary performer (`PPRF`), the other signers of the nota secondary performers (`SPRF`),
  codes of the R4 encounter-participant-type value set.
- `CarePlan`: the recommendation (nota de interconsulta): active, intent plan; the diagnostic
  criteria are its description, each suggested study and treatment line an activity.

The Bundle states its FHIR version in `meta.profile` (the core Bundle profile of 4.0.1), and the
HTTP answer in its media type (`FHIR_JSON`), because a Bundle has no `fhirVersion` element.

Entries have `urn:uuid` full URLs derived from the case code (re-exporting a case gives the same
ids) and reference each other by them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.organization import Organization
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.practitioner import Practitioner
from fhir.resources.R4B.resource import Resource
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from casebook.access import DISCUSSED_STATUSES
from casebook.icd10 import icd10_title
from casebook.models import CaseStatus, Sex
from casebook.summaries import (
    CaseSummary,
    Center,
    Clinician,
    RecommendationSummary,
    SessionSummary,
    list_items,
)
from casebook.triage import Urgency, require_utc

# The export's media type with FHIR's version parameter (R4 http.html#version-parameter).
FHIR_MEDIA_TYPE = "application/fhir+json"
FHIR_JSON = f"{FHIR_MEDIA_TYPE}; fhirVersion=4.0"
# The core profile every R4 Bundle conforms to, versioned: what states the version in the content.
BUNDLE_PROFILE = "http://hl7.org/fhir/StructureDefinition/Bundle|4.0.1"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CHAIR_PARTICIPATION = {"system": PARTICIPATION_TYPE, "code": "PPRF", "display": "primary performer"}
SIGNER_PARTICIPATION = {
    "system": PARTICIPATION_TYPE,
    "code": "SPRF",
    "display": "secondary performer",
}
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
UCUM = "http://unitsofmeasure.org"
# Where Junta's own identifier systems live. A placeholder under the reserved `.invalid` domain:
# a deployment passes its own public base (`system_base=`) so identifiers are globally unique.
SYSTEM_BASE = "https://junta.invalid/fhir"
NETWORK_NAME = "Red de Oncología Pediátrica"

PRIORITY: dict[Urgency, str] = {
    Urgency.ROUTINE: "routine",
    Urgency.PRIORITY: "urgent",
    Urgency.URGENT: "asap",
}
# Task.status: how far the network has got with the request.
TASK_STATUS: dict[CaseStatus, str] = {
    CaseStatus.DRAFT: "draft",
    CaseStatus.SUBMITTED: "requested",
    # The network began triage and waits on the referrer's answer.
    CaseStatus.INFORMATION_REQUESTED: "on-hold",
    CaseStatus.ACCEPTED: "accepted",
    # On an agenda: "ready to be performed, but no action has yet been taken".
    CaseStatus.SCHEDULED: "ready",
    # Discussed, the nota is being written.
    CaseStatus.DISCUSSED: "in-progress",
    # The nota is the requested output: the task is done; closing only files it.
    CaseStatus.RECOMMENDATION_ISSUED: "completed",
    CaseStatus.CLOSED: "completed",
    CaseStatus.REJECTED: "rejected",
    CaseStatus.WITHDRAWN: "cancelled",
}
# ServiceRequest.status: whether the request stands (the Task says how far it got).
REQUEST_STATUS: dict[CaseStatus, str] = {
    CaseStatus.DRAFT: "draft",
    CaseStatus.SUBMITTED: "active",
    CaseStatus.INFORMATION_REQUESTED: "active",
    CaseStatus.ACCEPTED: "active",
    CaseStatus.SCHEDULED: "active",
    CaseStatus.DISCUSSED: "active",
    CaseStatus.RECOMMENDATION_ISSUED: "completed",
    CaseStatus.CLOSED: "completed",
    CaseStatus.REJECTED: "revoked",
    CaseStatus.WITHDRAWN: "revoked",
}
# AdministrativeGender; "undetermined" (ambiguous at birth) is `other`, as HL7 v2's A maps.
GENDER: dict[Sex, str] = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.UNDETERMINED: "other"}
_ICD10_CODE = re.compile(r"[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?")


def case_bundle(
    case: CaseSummary,
    session: SessionSummary | None,
    recommendation: RecommendationSummary | None,
    now: datetime,
    *,
    network_name: str = NETWORK_NAME,
    system_base: str = SYSTEM_BASE,
) -> dict[str, Any]:
    """The case as a FHIR R4 collection Bundle, JSON-ready (`json.dumps` it as is).

    `session` is the review session that has the case on its agenda or discussed it, if any;
    `recommendation` the issued nota, if any. Raises ValueError on data FHIR cannot carry.
    """
    require_utc(now, "now")
    if not _ICD10_CODE.fullmatch(case.icd10_code):
        raise ValueError(f"not an ICD-10 code: {case.icd10_code!r} (expected e.g. C91.0)")
    return _BundleBuilder(case, system_base, network_name).build(session, recommendation, now)


class _BundleBuilder:
    """Collects validated entries and hands out references to them."""

    def __init__(self, case: CaseSummary, system_base: str, network_name: str) -> None:
        self.case = case
        self.base = system_base.rstrip("/")
        self.network_name = network_name
        self.namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.base}/case/{case.code}")
        self.entries: list[dict[str, Any]] = []
        self.refs: dict[str, dict[str, str]] = {}

    def system(self, name: str) -> str:
        return f"{self.base}/sid/{name}"

    def add(self, key: str, model: type[Resource], resource: dict[str, Any], display: str) -> None:
        """Validate `resource` with `model` and add it under a stable urn:uuid derived from key."""
        if key in self.refs:
            return
        url = f"urn:uuid:{uuid.uuid5(self.namespace, key)}"
        validated = model.model_validate({"resourceType": model.get_resource_type(), **resource})
        self.entries.append({"fullUrl": url, "resource": validated})
        self.refs[key] = {"reference": url, "display": display}

    def ref(self, key: str) -> dict[str, str]:
        return dict(self.refs[key])

    def build(
        self,
        session: SessionSummary | None,
        recommendation: RecommendationSummary | None,
        now: datetime,
    ) -> dict[str, Any]:
        case = self.case
        self.add("network", Organization, {"name": self.network_name}, self.network_name)
        self.center(case.referring_center)
        self.patient()
        referrer = self.practitioner(case.referrer)
        self.condition(referrer)
        self.service_request(referrer)
        if session is not None:
            self.encounter(session, recommendation, now)
        if recommendation is not None:
            self.care_plan(recommendation, session)
        self.task(referrer, recommendation, now)
        bundle = Bundle.model_validate(
            {
                "resourceType": "Bundle",
                "meta": {"profile": [BUNDLE_PROFILE]},
                "type": "collection",
                "timestamp": now.isoformat(),
                "entry": self.entries,
            }
        )
        result: dict[str, Any] = json.loads(bundle.model_dump_json())
        return result

    def center(self, center: Center) -> str:
        key = f"center/{center.clues or center.name}"
        resource: dict[str, Any] = {"name": center.name}
        if center.clues:
            resource["identifier"] = [{"system": self.system("clues"), "value": center.clues}]
        self.add(key, Organization, resource, center.name)
        return key

    def practitioner(self, person: Clinician) -> str:
        key = f"practitioner/{person.user_id or person.name}"
        resource: dict[str, Any] = {"name": [{"text": person.name}]}
        if person.user_id:
            resource["identifier"] = [{"system": self.system("user"), "value": person.user_id}]
        if person.specialty:
            resource["qualification"] = [{"code": {"text": person.specialty}}]
        self.add(key, Practitioner, resource, person.name)
        return key

    def patient(self) -> None:
        patient = self.case.patient
        resource = {
            "identifier": [
                {
                    "use": "secondary",
                    "type": {"text": "Initials"},
                    "system": self.system("patient-initials"),
                    "value": patient.initials,
                }
            ],
            "gender": GENDER[patient.sex],
            "extension": [
                {
                    "url": f"{self.base}/StructureDefinition/age-at-referral",
                    "valueAge": {
                        "value": patient.age_in_months,
                        "unit": "mo",
                        "system": UCUM,
                        "code": "mo",
                    },
                }
            ],
            "managingOrganization": self.ref(f"center/{self._center_key()}"),
        }
        self.add("patient", Patient, resource, f"{patient.initials} ({self.case.code})")

    def _center_key(self) -> str:
        center = self.case.referring_center
        return center.clues or center.name

    def condition(self, referrer: str) -> None:
        case = self.case
        coding = {"system": ICD10, "code": case.icd10_code}
        title = icd10_title(case.icd10_code)
        if title is not None:
            coding["display"] = title
        resource: dict[str, Any] = {
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "code": {"coding": [coding], "text": case.diagnosis},
            "subject": self.ref("patient"),
            "asserter": self.ref(referrer),
            "recordedDate": case.created_at.isoformat(),
        }
        if case.stage:
            resource["stage"] = [{"summary": {"text": case.stage}}]
        self.add("condition", Condition, resource, f"{case.icd10_code} {case.diagnosis}")

    def service_request(self, referrer: str) -> None:
        case = self.case
        resource: dict[str, Any] = {
            "identifier": [{"system": self.system("case-code"), "value": case.code}],
            "status": REQUEST_STATUS[case.status],
            "intent": "order",
            "priority": PRIORITY[case.urgency],
            "code": {"text": "Second opinion (pediatric oncology interconsultation)"},
            "subject": self.ref("patient"),
            "authoredOn": (case.submitted_at or case.created_at).isoformat(),
            "requester": self.ref(referrer),
            "performer": [self.ref("network")],
            "reasonReference": [self.ref("condition")],
        }
        if case.specialty:
            resource["performerType"] = {"text": case.specialty}
        if case.clinical_question.strip():
            resource["note"] = [{"text": case.clinical_question}]
        self.add("service-request", ServiceRequest, resource, f"Second opinion {case.code}")

    def encounter(
        self,
        session: SessionSummary,
        recommendation: RecommendationSummary | None,
        now: datetime,
    ) -> None:
        participants = [self.practitioner(session.chair)]
        if recommendation is not None:
            participants += [self.practitioner(p) for p in recommendation.signers]
        participant = []
        for key in dict.fromkeys(participants):
            coding = CHAIR_PARTICIPATION if key == participants[0] else SIGNER_PARTICIPATION
            participant.append(
                {
                    "type": [{"coding": [dict(coding)]}],
                    "individual": self.ref(key),
                }
            )
        resource = {
            "identifier": [
                {"system": self.system("review-session"), "value": str(session.session_id)}
            ],
            "status": encounter_status(self.case.status, session, now),
            "class": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
            "type": [{"text": f"Review session: {session.kind.value}"}],
            "subject": self.ref("patient"),
            "basedOn": [self.ref("service-request")],
            "participant": participant,
            "period": {"start": session.starts_at.isoformat(), "end": session.ends_at.isoformat()},
            "reasonReference": [self.ref("condition")],
            "serviceProvider": self.ref("network"),
        }
        self.add("encounter", Encounter, resource, session.title)

    def care_plan(
        self, recommendation: RecommendationSummary, session: SessionSummary | None
    ) -> None:
        studies = list_items(recommendation.suggested_studies)
        treatments = list_items(recommendation.treatment_suggestions)
        activities = [_activity(text, "ServiceRequest") for text in studies]
        activities += [_activity(text, None) for text in treatments]
        signers = [self.practitioner(p) for p in recommendation.signers]
        resource: dict[str, Any] = {
            "status": "active",
            "intent": "plan",
            "title": f"Nota de interconsulta {self.case.code}",
            "subject": self.ref("patient"),
            "created": recommendation.issued_at.isoformat(),
            "author": self.ref(signers[0]),
            "contributor": [self.ref(key) for key in dict.fromkeys(signers)],
            "addresses": [self.ref("condition")],
        }
        if recommendation.diagnostic_criteria.strip():
            resource["description"] = recommendation.diagnostic_criteria
        if activities:
            resource["activity"] = activities
        if session is not None:
            resource["supportingInfo"] = [self.ref("encounter")]
        self.add("care-plan", CarePlan, resource, f"Nota de interconsulta {self.case.code}")

    def task(
        self, referrer: str, recommendation: RecommendationSummary | None, now: datetime
    ) -> None:
        case = self.case
        resource: dict[str, Any] = {
            "identifier": [{"system": self.system("case-code"), "value": case.code}],
            "status": TASK_STATUS[case.status],
            "businessStatus": {
                "coding": [{"system": f"{self.base}/CodeSystem/case-status",
                            "code": case.status.value}],
                "text": case.status.value.replace("_", " "),
            },
            "intent": "order",
            "priority": PRIORITY[case.urgency],
            "code": {"coding": [{"system": TASK_CODE, "code": "fulfill"}]},
            "focus": self.ref("service-request"),
            "for": self.ref("patient"),
            "authoredOn": (case.submitted_at or case.created_at).isoformat(),
            "lastModified": now.isoformat(),
            "requester": self.ref(referrer),
            "owner": self.ref("network"),
        }
        if recommendation is not None:
            resource["output"] = [
                {"type": {"text": "Nota de interconsulta"}, "valueReference": self.ref("care-plan")}
            ]
        self.add("task", Task, resource, f"Case {case.code}")


def encounter_status(status: CaseStatus, session: SessionSummary, now: datetime) -> str:
    """The Encounter status of `session` for a case in `status`, at `now`."""
    if status in DISCUSSED_STATUSES:
        return "finished"
    if session.cancelled:
        return "cancelled"
    return "planned" if now < session.starts_at else "in-progress"


def _activity(text: str, kind: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"status": "not-started", "description": text}
    if kind is not None:
        detail["kind"] = kind
    return {"detail": detail}


# Every value of each enum has a mapping: a new status must be mapped before it can be exported.
assert set(PRIORITY) == set(Urgency) and set(GENDER) == set(Sex)
assert set(TASK_STATUS) == set(CaseStatus) == set(REQUEST_STATUS)
