"""Label sheets: the labels to print, as data (for ``serah labels``,
which renders locally with a progress bar) or as a print-ready PDF."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import StringConstraints

from events import labels
from events.catalog import CONSIGNMENT_ID, OFFICE_CODE
from services.gateway.adapters import label_pdf
from services.gateway.api.laptops import NOT_FOUND
from services.gateway.api.render import binary
from services.gateway.api.responses import LabelToPrint
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, Operator
from services.gateway.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["labels"])
MAX_LABELS = 10_000
LayoutName = Literal["a4-3x8", "a4-2x7", "thermal-50x30"]


# A URL should stay short (proxies on the way often stop at 8-16 KiB): 500 asset ids of
# 13 characters make about 12 KiB; more are asked for in several requests
# (``serah labels`` sends 400 at a time).
MAX_ASSET_IDS = 500
AssetIds = Annotated[
    list[Annotated[str, StringConstraints(pattern=labels.ASSET_ID.pattern)]] | None,
    Query(description=f"Asset ids, repeatable, at most {MAX_ASSET_IDS} per request.", max_length=MAX_ASSET_IDS),
]
Office = Annotated[str | None, Query(pattern=OFFICE_CODE)]
Consignment = Annotated[str | None, Query(pattern=CONSIGNMENT_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LABELS)]


async def select(
    gw: Gateway,
    asset_id: list[str] | None,
    office_code: str | None,
    consignment_id: str | None,
    limit: int,
    import_batch: str | None = None,
) -> list[LabelToPrint]:
    query: dict[str, Any] = {"label_generation": {"$gte": 1}}
    if asset_id:
        query["_id"] = {"$in": asset_id}
    if office_code:
        query["office_code"] = office_code
    if consignment_id:
        query["consignment_id"] = consignment_id
    if import_batch:
        query["import_batch"] = import_batch
    if not (asset_id or office_code or consignment_id or import_batch):
        raise ApiError(
            422, "no_selection", "Say which labels to print: asset_id, office_code, consignment_id or import_batch."
        )
    views = await gw.reads.label_views(query, limit)
    if not views:
        raise ApiError(404, "no_labels", "No registered laptop matches this selection: check the ids or codes.")
    if asset_id:  # print in the order asked for
        order = {a: i for i, a in enumerate(asset_id)}
        views.sort(key=lambda v: order.get(v["_id"], len(order)))
    out = []
    for v in views:
        url = gw.issuer.current_url(v["_id"], v)
        if url is None:  # the query asked for a label generation; a view without one is not printed
            continue
        out.append(
            LabelToPrint(
                asset_id=v["_id"],
                serial=v.get("serial") or "",
                brand=v.get("brand"),
                model=v.get("model"),
                kode_barang=v.get("kode_barang"),
                nup=v.get("nup"),
                office_code=v.get("office_code"),
                office_name=v.get("office_name"),
                consignment_id=v.get("consignment_id"),
                label_url=url,
            )
        )
    return out


def to_print(items: list[LabelToPrint]) -> list[label_pdf.LabelPrint]:
    return [label_pdf.LabelPrint(i.asset_id, i.serial, i.label_url, i.kode_barang, i.nup, i.office_name) for i in items]


@router.get(
    "/labels",
    response_model=list[LabelToPrint],
    responses=NOT_FOUND,
    summary="The current labels of the selected laptops (what a sheet prints)",
)
async def labels_to_print(
    who: Operator,
    gw: GW,
    asset_id: AssetIds = None,
    office_code: Office = None,
    consignment_id: Consignment = None,
    limit: Limit = MAX_LABELS,
    import_batch: Consignment = None,
) -> list[LabelToPrint]:
    """Select by asset ids, office, consignment or import batch (at least one: `422 no_selection`);
    `404 no_labels` when nothing matches."""
    return await select(gw, asset_id, office_code, consignment_id, limit, import_batch)


@router.get(
    "/labels.pdf",
    response_class=Response,
    responses=binary("application/pdf", "The label sheet.", 404),
    summary="A print-ready PDF of label stickers (A4 3x8, A4 2x7, or thermal 50x30 mm)",
)
async def label_sheet(
    who: Operator,
    gw: GW,
    layout: LayoutName = "a4-3x8",
    asset_id: AssetIds = None,
    office_code: Office = None,
    consignment_id: Consignment = None,
    limit: Limit = MAX_LABELS,
    import_batch: Consignment = None,
) -> Response:
    """The same selection as `GET /api/v1/labels`, laid out for printing."""
    items = await select(gw, asset_id, office_code, consignment_id, limit, import_batch)
    pdf = await asyncio.to_thread(label_pdf.render, to_print(items), layout)  # CPU-bound: keep the loop free
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="serah-labels-{layout}.pdf"'},
    )
