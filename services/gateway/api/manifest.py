"""The dispatch manifest PDF for the driver (see services/gateway/adapters/manifest_pdf.py)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from events import receipt_codes
from services.common.indonesian import tanggal
from services.gateway.adapters import manifest_pdf as manifest
from services.gateway.api import scope
from services.gateway.api.consignments import ConsignmentId
from services.gateway.api.render import binary
from services.gateway.api.requests import ManifestRequest
from services.gateway.deps import GW, Dispatcher
from services.gateway.errors import ApiError

router = APIRouter()


@router.post(
    "/api/v1/consignments/{consignment_id}/manifest.pdf",
    tags=["consignments"],
    response_class=Response,
    responses=binary("application/pdf", "The manifest for the driver.", 403, 404),
    summary="The dispatch manifest PDF; give the receipt code to have it printed (checked against its hash)",
)
async def manifest_pdf(who: Dispatcher, consignment_id: ConsignmentId, body: ManifestRequest, gw: GW) -> Response:
    """Lists the laptops, the receiving office, the officials and the legal basis. A `receipt_code`
    is printed only if it is the consignment's current code (`403 receipt_code_invalid` otherwise)."""
    await scope.picks_at(gw, who, consignment_id)
    plan = await gw.consignments.plan(consignment_id)
    if plan is None:
        raise ApiError(404, "unknown_consignment", f"consignment {consignment_id} is not planned: check the id.")
    code = body.receipt_code
    if code is not None:
        if not receipt_codes.matches(gw.receipt_code_keys, code, plan["receipt_code_hash"]):
            raise ApiError(
                403,
                "receipt_code_invalid",
                "This is not the consignment's receipt code: use the code shown when it was planned.",
            )
        code = receipt_codes.grouped(code)  # printed as shown, whatever its spelling as typed
    views = await asyncio.gather(*(gw.reads.laptop(a) for a in plan["expected"]))
    units = [
        manifest.Unit(
            asset_id=a,
            serial=(v or {}).get("serial") or "",
            brand_model=" ".join(x for x in ((v or {}).get("brand"), (v or {}).get("model")) if x),
            kode_barang=(v or {}).get("kode_barang") or "",
        )
        for a, v in zip(plan["expected"], views, strict=True)
    ]
    legal = plan["legal_basis"]
    m = manifest.Manifest(
        consignment_id=consignment_id,
        office_code=plan["office_code"],
        office_name=plan["office_name"],
        legal_kind=legal["kind"],
        legal_number=legal["number"],
        legal_date=tanggal(legal["date"]),
        officials=[(o["name"], o["nip"], o["jabatan"]) for o in plan["officials"]],
        units=units,
        receipt_code=code,
        expected_count=plan.get("expected_count"),
    )
    pdf = await asyncio.to_thread(manifest.render, m)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="manifest-{consignment_id}.pdf"'},
    )
