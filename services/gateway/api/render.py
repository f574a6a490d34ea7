"""A decision in HTTP terms, and what an API route declares it can answer (its
refusals, its file type, a command's pending answer): one module, so the answers
and their declaration cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from events import codec
from events.catalog import COMMANDS, CommandRejected
from events.envelope import Envelope
from services.gateway.api.responses import DecisionResponse, EventPublic, Problem
from services.gateway.decisions import Accepted, Decision, Pending, Rejected
from services.gateway.deps import Rule, rule_of
from services.gateway.errors import problem, rejection_status
from services.gateway.openapi import WHY

# The commands a scanning device sends (those that carry a scanned label): it asks for
# their decisions under /scans/.
SCANS = frozenset(c.TYPE for c in COMMANDS if "label" in c.RAW_TEXT)


def status_url(command_type: str, command_id: str) -> str:
    """Where the decision on a command can be asked for later: under ``/scans/`` for
    a scan, under ``/commands/`` for anything else (both answer for any id)."""
    return f"/api/v1/{'scans' if command_type in SCANS else 'commands'}/{command_id}"


def event_public(event: Envelope) -> EventPublic:
    return EventPublic(
        id=event.id,
        type=event.type,
        time=codec.format_time(event.time),
        actor=event.actor,
        command_id=event.causationid,
        source=event.source,
        data=event.data,
    )


def decision_body(decision: Decision) -> DecisionResponse:
    cmd = decision.command
    named = {
        "command_id": cmd.id,
        "subject": cmd.subject,
        "subject_kind": codec.subject_kind(cmd),
        "status_url": status_url(cmd.type, cmd.id),
    }
    match decision:
        case Pending():
            return DecisionResponse(decision="pending", reason=decision.reason, detail=decision.detail, **named)
        case Rejected():
            return DecisionResponse(
                decision="rejected",
                reason=decision.reason,
                detail=decision.detail,
                event=event_public(decision.event),
                **named,
            )
        case Accepted():
            return DecisionResponse(decision="accepted", event=event_public(decision.event), **named)


def record(command_id: str, event: Envelope, url: str) -> DecisionResponse:
    """What became of a command decided earlier (``event``: the first fact it caused),
    as asked at ``url``."""
    rejected = event.type == CommandRejected.TYPE
    return DecisionResponse(
        decision="rejected" if rejected else "accepted",
        command_id=command_id,
        subject=event.subject,
        subject_kind=codec.subject_kind(event),
        reason=event.data["reason"] if rejected else None,
        detail=event.data["detail"] if rejected else None,
        event=event_public(event),
        status_url=url,
    )


def answer(decision: Decision, accepted_status: int = 200, **extra: Any) -> JSONResponse:
    """The answer to a command: ``accepted_status`` with the event, 202 with a
    ``Location`` while pending, or problem+json with the refusal's status. ``extra``:
    fields a route adds to an accepted answer (the receipt code shown once)."""
    body = decision_body(decision)
    match decision:
        case Pending():
            return JSONResponse(body.model_dump(mode="json"), status_code=202, headers={"Location": body.status_url})
        case Rejected():
            return problem(
                rejection_status(decision.reason),
                decision.reason,
                decision.detail,
                decision="rejected",
                command_id=body.command_id,
                subject=body.subject,
                subject_kind=body.subject_kind,
                event=body.event.model_dump(mode="json") if body.event else None,
                status_url=body.status_url,
            )
        case Accepted():
            return JSONResponse(body.model_dump(mode="json") | extra, status_code=accepted_status)


def command_answers(*refusals: int, accepted: int = 200, model: type = DecisionResponse) -> dict[int | str, Any]:
    """What a route that sends a command and waits for its decision declares."""
    return {
        accepted: {"model": model, "description": "Accepted: the event the deciding service recorded."},
        202: {
            "model": DecisionResponse,
            "description": "Pending: the command is safely stored in Kafka and will be decided exactly once; "
            "ask the `Location` (`status_url`) for the decision.",
            "headers": {"Location": {"description": "Where the decision will be.", "schema": {"type": "string"}}},
        },
        **problems(*refusals),
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": Problem, "description": WHY.get(s, HTTPStatus(s).phrase)} for s in statuses}


def binary(media_type: str, what: str, *refusals: int) -> dict[int | str, Any]:
    """A route whose success is a file, not JSON."""
    schema = (
        {"type": "string"} if media_type.startswith(("image/svg", "text/")) else {"type": "string", "format": "binary"}
    )
    return {200: {"description": what, "content": {media_type: {"schema": schema}}}, **problems(*refusals)}


def declare_who_may_call(routes: Iterable[Any]) -> None:
    """Adds to each route's answers what its rule can refuse (deps.allow / public): a
    wrong or revoked device token anywhere (401), sign-in and the role where a rule asks
    for them (401, 403). Called once the routes are in the app, before the document is built."""
    for route in routes:
        rule = _rule(route.dependant)
        if rule is None:
            continue
        route.responses.setdefault(401, problems(401)[401])
        if not rule.anyone:
            route.responses.setdefault(403, problems(403)[403])
            # Either a device's bearer token or a person's session cookie (openapi.SECURITY).
            route.openapi_extra = {**(route.openapi_extra or {}), "security": [{"device": []}, {"session": []}]}


def _rule(dependant: Any) -> Rule | None:
    found = rule_of(dependant.call)
    for sub in dependant.dependencies:
        found = found or _rule(sub)
    return found
