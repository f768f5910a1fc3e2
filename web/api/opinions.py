"""The cases API's opinions and the recommendation (the nota de interconsulta)."""

from __future__ import annotations

from aiohttp import web

from casebook import cases, opinions
from casebook.models import Role
from web.api.case_schemas import (
    OpinionIn,
    OpinionOut,
    RecommendationIn,
    RecommendationOut,
    Ref,
    case_code,
    recommendation_out,
)
from web.api.cases import CASE
from web.app.keys import NOTIFIER
from web.http.auth import require_user
from web.http.routes import (
    CLINICAL,
    CLINICAL_READERS,
    Route,
    caller,
    json_reply,
    parse_body,
    transaction,
)


async def add_opinion(request: web.Request) -> web.StreamResponse:
    """Add a consultant's opinion."""
    who = caller(request)
    code = case_code(request)
    async with transaction(request) as db:
        view = await cases.find_visible(db, who, code)
        body = await parse_body(request, OpinionIn)
        opinion = await opinions.add_opinion(db, who, view, body.body)
        reply = OpinionOut(
            id=opinion.id,
            author=Ref(id=who.user_id, name=require_user(request).display_name),
            body=opinion.body,
            created_at=opinion.created_at,
        )
    return json_reply(reply, status=201)


async def issue_recommendation(request: web.Request) -> web.StreamResponse:
    """Issue the nota de interconsulta (the chair of the discussing session)."""
    who = caller(request)
    code = case_code(request)
    async with transaction(request) as db:
        view = await cases.find_visible(db, who, code)
        body = await parse_body(request, RecommendationIn)
        await opinions.issue(
            db,
            who,
            view,
            diagnostic_criteria=body.diagnostic_criteria,
            suggested_studies=body.suggested_studies,
            treatment_suggestions=body.treatment_suggestions,
            signatory_ids=body.signatories,
            notifier=request.app[NOTIFIER],
        )
        found = await opinions.recommendation_of(db, view.case.id)
        assert found is not None
        reply = recommendation_out(view.case, *found)
    return json_reply(reply, status=201)


async def get_recommendation(request: web.Request) -> web.StreamResponse:
    """The case's recommendation (audited)."""
    who = caller(request)
    code = case_code(request)
    async with transaction(request) as db:
        view = await cases.find_visible(db, who, code)
        recommendation, signers = await opinions.read(db, who, view)
        reply = recommendation_out(view.case, recommendation, signers)
    return json_reply(reply)



def routes() -> list[Route]:
    """A case's opinions and its recommendation."""
    return [
        Route(
            "POST", f"{CASE}/opinions", add_opinion, name="api-case-opinions",
            summary="Add an opinion",
            description="A consultant's opinion: coordinators or consultants invited to the case.",
            roles=frozenset({Role.COORDINATOR, Role.SPECIALIST, Role.LECTURER}),
            body=OpinionIn, response=OpinionOut, status=201,
        ),
        Route(
            "POST", f"{CASE}/recommendation", issue_recommendation,
            name="api-case-recommendation-issue",
            summary="Issue the recommendation",
            description=(
                "The nota de interconsulta, by the chair of the session that discussed the case,"
                " signed by the consultants of that session who agreed."
            ),
            roles=CLINICAL, body=RecommendationIn, response=RecommendationOut, status=201,
        ),
        Route(
            "GET", f"{CASE}/recommendation", get_recommendation, name="api-case-recommendation",
            summary="Get the recommendation",
            description="The case's nota de interconsulta (the read is audited).",
            roles=CLINICAL_READERS, response=RecommendationOut,
        ),
    ]
