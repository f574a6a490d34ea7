"""Transfers between offices (mutasi): a consignment planned from an office, scanned and
closed there by its officials, received and signed for at the new office like any
consignment (``POST /api/v1/consignments/{id}/receipt``, its BAST, its receipt code).
The rules are allocation's and handover's; the routes say who may act for which office
and tell the service where the scan is made (``from_office``), which it checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from events.catalog import PlanConsignment
from events.envelope import SAFE_ID
from services.gateway.api import scope
from services.gateway.api.consignments import ConsignmentId, answer_plan, close_as, scan_in
from services.gateway.api.render import command_answers
from services.gateway.api.requests import CloseRequest, ConsignmentScanRequest, TransferRequest
from services.gateway.api.responses import DecisionResponse, PlanResponse
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.decisions import new_receipt_code
from services.gateway.deps import GW, Custodian, Recipient
from services.gateway.errors import ApiError

router = APIRouter(prefix="/api/v1")


@router.post(
    "/transfers",
    tags=["transfers"],
    status_code=201,
    response_model=PlanResponse,
    responses=command_answers(403, 404, 409, 422, accepted=201, model=PlanResponse),
    summary="Plan a transfer of laptops from one office to another",
)
async def plan_transfer(who: Custodian, body: TransferRequest, gw: GW) -> JSONResponse:
    """By the giving office's recipient official, or an operator. Each laptop must be at `from_office`,
    received and held by no one (`409 not_at_office`, `409 held_by_holder`, `409 in_repair`, …); planning
    reserves them. The answer carries the receipt code once, for the receiving office, as for any consignment."""
    scope.act_for_any(who, (Role.RECIPIENT, Role.OPERATOR), body.from_office, f"office {body.from_office}")
    code, digest = new_receipt_code(gw.receipt_code_keys)
    data = PlanConsignment(
        office_code=body.office_code,
        officials=body.officials,
        legal_basis=body.legal_basis,
        expected=body.expected,
        receipt_code_hash=digest,
        from_office=body.from_office,
    )
    return await answer_plan(gw, who, data, body.consignment_id, code)


async def _giver(gw: Gateway, who: Principal, consignment_id: str) -> str:
    """The office a transfer leaves from, which the caller must act for."""
    plan = await gw.consignments.plan(consignment_id)
    if plan is None:
        raise ApiError(404, "unknown_consignment", f"consignment {consignment_id} is not planned: check the id.")
    giver = plan.get("from_office")
    if giver is None:
        raise ApiError(
            409,
            "wrong_sender",
            f"consignment {consignment_id} leaves from the warehouse: it is scanned and closed there "
            f"(POST /api/v1/consignments/{consignment_id}/scans).",
        )
    scope.act_for(who, Role.RECIPIENT, giver, consignment_id)
    return str(giver)


@router.post(
    "/transfers/{consignment_id}/scans",
    tags=["transfers"],
    response_model=DecisionResponse,
    responses=command_answers(403, 404, 409, 422),
    summary="Scan a laptop into a transfer at the giving office",
)
async def scan_into_transfer(
    who: Recipient, consignment_id: ConsignmentId, body: ConsignmentScanRequest, gw: GW
) -> JSONResponse:
    """As at the warehouse: a second scan answers 200 `duplicate`; a laptop the transfer does not list is
    `422 not_expected`; one no longer free to leave (`409 held_by_holder`, …) is refused."""
    return await scan_in(gw, who, consignment_id, body, from_office=await _giver(gw, who, consignment_id))


@router.post(
    "/transfers/{consignment_id}/close",
    tags=["transfers"],
    response_model=DecisionResponse,
    responses=command_answers(403, 404, 409, 422),
    summary="Close the transfer: it leaves the giving office now",
)
async def close_transfer(
    who: Recipient,
    consignment_id: ConsignmentId,
    gw: GW,
    body: CloseRequest | None = None,
    idempotency_key: Annotated[str | None, Header(pattern=SAFE_ID)] = None,
) -> JSONResponse:
    """Every laptop scanned in leaves; the official who hands them over (the BAST's PIHAK PERTAMA, for the
    giving office) is the signed-in person, or the one a device names in `dispatcher`."""
    official = scope.dispatcher(who, body.dispatcher if body else None)
    giver = await _giver(gw, who, consignment_id)
    return await close_as(gw, consignment_id, who, official, idempotency_key, from_office=giver)
