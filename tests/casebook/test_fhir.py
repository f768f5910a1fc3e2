"""The FHIR export: an R4 collection Bundle that parses back, links up and names no patient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from casebook.access import DISCUSSED_STATUSES
from casebook.fhir import case_bundle
from casebook.models import CaseStatus, Sex
from casebook.summaries import PatientPseudonym
from casebook.triage import Urgency
from tests.casebook.fhir_schema import r4_schema_errors
from tests.casebook.summary_samples import NOW, case, recommendation, session

EXPECTED_TASK_STATUS = {
    CaseStatus.DRAFT: "draft",
    CaseStatus.SUBMITTED: "requested",
    CaseStatus.INFORMATION_REQUESTED: "on-hold",
    CaseStatus.ACCEPTED: "accepted",
    CaseStatus.SCHEDULED: "ready",
    CaseStatus.DISCUSSED: "in-progress",
    CaseStatus.RECOMMENDATION_ISSUED: "completed",
    CaseStatus.CLOSED: "completed",
    CaseStatus.REJECTED: "rejected",
    CaseStatus.WITHDRAWN: "cancelled",
}
ON_AGENDA = {CaseStatus.SCHEDULED, *DISCUSSED_STATUSES}
WITH_NOTA = {CaseStatus.RECOMMENDATION_ISSUED, CaseStatus.CLOSED}


def full_bundle() -> dict[str, Any]:
    return case_bundle(case(), session(), recommendation(), NOW)


def bundle_for(status: CaseStatus) -> dict[str, Any]:
    return case_bundle(
        case(status=status),
        session() if status in ON_AGENDA else None,
        recommendation() if status in WITH_NOTA else None,
        NOW,
    )


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def one(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    [resource] = resources(bundle, kind)
    return resource


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference":
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def test_bundle_is_json_and_parses_back_as_an_r4_collection() -> None:
    bundle = full_bundle()
    text = json.dumps(bundle, ensure_ascii=False)
    parsed = Bundle.model_validate_json(text)
    assert parsed.type == "collection"
    kinds = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    for kind in ("CarePlan", "Condition", "Encounter", "Patient", "ServiceRequest", "Task"):
        assert kinds.count(kind) == 1, kind
    # R4's Encounter.class is one Coding (R5 made it a list of CodeableConcepts).
    assert one(bundle, "Encounter")["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "VR",
        "display": "virtual",
    }


def test_every_reference_resolves_to_a_urn_uuid_entry_of_the_bundle() -> None:
    bundle = full_bundle()
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))
    assert all(url.startswith("urn:uuid:") for url in urls)
    refs = list(references(bundle))
    assert len(refs) > 15
    assert set(refs) <= set(urls)


def test_export_is_stable_for_the_same_case() -> None:
    assert full_bundle() == full_bundle()
    other = case_bundle(case(code="JC-2026-000124"), session(), recommendation(), NOW)
    assert {e["fullUrl"] for e in other["entry"]}.isdisjoint(
        e["fullUrl"] for e in full_bundle()["entry"]
    )


def test_patient_is_a_pseudonym_without_name_or_birth_date() -> None:
    bundle = full_bundle()
    patient = one(bundle, "Patient")
    assert set(patient) == {
        "resourceType", "identifier", "gender", "extension", "managingOrganization"
    }
    assert patient["identifier"][0]["value"] == "JAL"
    assert patient["gender"] == "female"
    assert patient["extension"][0]["valueAge"]["value"] == 3 * 12 + 4
    assert patient["extension"][0]["valueAge"]["code"] == "mo"
    # The only names in the whole export are those of organizations and practitioners.
    named = {
        e["resource"]["resourceType"] for e in bundle["entry"] if "name" in e["resource"]
    }
    assert named == {"Organization", "Practitioner"}


def test_a_full_name_is_refused_as_initials() -> None:
    with pytest.raises(ValueError, match="initials"):
        PatientPseudonym("Juana Arias López", age_years=3, age_months=0, sex=Sex.FEMALE)


@pytest.mark.parametrize(
    ("sex", "gender"),
    [(Sex.FEMALE, "female"), (Sex.MALE, "male"), (Sex.UNDETERMINED, "other")],
)
def test_sex_maps_to_administrative_gender(sex: Sex, gender: str) -> None:
    patient = PatientPseudonym("AB", age_years=1, age_months=2, sex=sex)
    bundle = case_bundle(case(patient=patient), None, None, NOW)
    assert one(bundle, "Patient")["gender"] == gender


def test_service_request_carries_question_requester_and_performer() -> None:
    bundle = full_bundle()
    request = one(bundle, "ServiceRequest")
    assert request["note"] == [{"text": case().clinical_question}]
    assert request["requester"]["display"] == "Dra. María Núñez Ibáñez"
    assert request["performer"][0]["display"] == "Red de Oncología Pediátrica"
    assert request["identifier"][0]["value"] == "JC-2026-000123"
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert by_url[request["requester"]["reference"]]["resourceType"] == "Practitioner"
    assert by_url[request["performer"][0]["reference"]]["resourceType"] == "Organization"
    assert by_url[request["reasonReference"][0]["reference"]]["resourceType"] == "Condition"


@pytest.mark.parametrize(
    ("urgency", "priority"),
    [(Urgency.ROUTINE, "routine"), (Urgency.PRIORITY, "urgent"), (Urgency.URGENT, "asap")],
)
def test_urgency_maps_to_priority_keeping_the_queue_order(urgency: Urgency, priority: str) -> None:
    bundle = case_bundle(case(urgency=urgency), None, None, NOW)
    assert one(bundle, "ServiceRequest")["priority"] == priority
    assert one(bundle, "Task")["priority"] == priority


def test_condition_is_coded_in_icd10_with_the_who_title_and_the_referrers_words() -> None:
    condition = one(full_bundle(), "Condition")
    # The display is the code system's title; the referrer's own words are the concept's text.
    assert condition["code"] == {
        "coding": [
            {
                "system": "http://hl7.org/fhir/sid/icd-10",
                "code": "C91.0",
                "display": "Acute lymphoblastic leukaemia [ALL]",
            }
        ],
        "text": "Leucemia linfoblástica aguda de precursores B",
    }
    assert condition["stage"] == [{"summary": {"text": "Riesgo alto (EMR positiva al día 29)"}}]


def test_a_code_icd10_lacks_is_exported_without_a_display() -> None:
    # C99.9 has the shape of a code but ICD-10 2019 has no C98 or C99: no title is better than a
    # made-up one.
    bundle = case_bundle(case(icd10_code="C99.9"), None, None, NOW)
    assert one(bundle, "Condition")["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/icd-10", "code": "C99.9"}
    ]


def test_an_invalid_icd10_code_is_refused() -> None:
    with pytest.raises(ValueError, match="ICD-10"):
        case_bundle(case(icd10_code="leucemia"), None, None, NOW)


@pytest.mark.parametrize("status", list(CaseStatus))
def test_every_status_maps_to_a_task_status(status: CaseStatus) -> None:
    bundle = bundle_for(status)
    Bundle.model_validate(bundle)
    assert r4_schema_errors(bundle) == []
    task = one(bundle, "Task")
    assert task["status"] == EXPECTED_TASK_STATUS[status]
    assert task["businessStatus"]["coding"][0]["code"] == status.value
    assert bool(resources(bundle, "Encounter")) == (status in ON_AGENDA)
    assert bool(resources(bundle, "CarePlan")) == (status in WITH_NOTA)


# The R4 encounter-participant-type value set (hl7.org/fhir/R4/valueset-encounter-participant-type):
# its v3-ParticipationType codes. CHAIR, for one, is not among them.
ENCOUNTER_PARTICIPANT_TYPES = {
    "ADM": "admitter",
    "ATND": "attender",
    "CALLBCK": "callback contact",
    "CON": "consultant",
    "DIS": "discharger",
    "ESC": "escort",
    "REF": "referrer",
    "SPRF": "secondary performer",
    "PPRF": "primary performer",
    "PART": "Participation",
}


def test_encounter_participants_are_typed_with_codes_of_the_r4_value_set() -> None:
    encounter = one(full_bundle(), "Encounter")
    types = [p["type"][0]["coding"][0] for p in encounter["participant"]]
    for coding in types:
        assert coding["system"] == "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
        assert ENCOUNTER_PARTICIPANT_TYPES.get(coding["code"]) == coding["display"], coding
    displays = [p["individual"]["display"] for p in encounter["participant"]]
    assert list(zip(displays, [t["code"] for t in types], strict=True)) == [
        ("Dr. José Ángel Peña", "PPRF"),
        ("Dra. Sofía Muñoz", "SPRF"),
    ]


def test_bundle_states_its_fhir_version() -> None:
    assert full_bundle()["meta"] == {
        "profile": ["http://hl7.org/fhir/StructureDefinition/Bundle|4.0.1"]
    }


def test_encounter_status_follows_the_session_and_the_case() -> None:
    scheduled = case(status=CaseStatus.SCHEDULED)
    planned = case_bundle(scheduled, session(), None, NOW)
    assert one(planned, "Encounter")["status"] == "planned"
    live = case_bundle(scheduled, session(), None, session().starts_at + timedelta(minutes=5))
    assert one(live, "Encounter")["status"] == "in-progress"
    cancelled = case_bundle(scheduled, session(cancelled=True), None, NOW)
    assert one(cancelled, "Encounter")["status"] == "cancelled"
    assert one(full_bundle(), "Encounter")["status"] == "finished"


def test_care_plan_holds_the_recommendation() -> None:
    bundle = full_bundle()
    plan = one(bundle, "CarePlan")
    assert (plan["status"], plan["intent"]) == ("active", "plan")
    assert plan["description"].startswith("Cumple criterios de LLA")
    details = [a["detail"] for a in plan["activity"]]
    assert [d["description"] for d in details] == [
        "Enfermedad mínima residual por citometría",
        "Tipificación HLA",
        "Consolidación intensificada",
        "Búsqueda de donador",
    ]
    assert [d.get("kind") for d in details] == ["ServiceRequest", "ServiceRequest", None, None]
    assert plan["author"]["display"] == "Dr. José Ángel Peña"
    assert [c["display"] for c in plan["contributor"]] == [
        "Dr. José Ángel Peña", "Dra. Sofía Muñoz"
    ]
    task = one(bundle, "Task")
    assert task["output"][0]["valueReference"]["reference"] == next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
