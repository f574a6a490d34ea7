"""Label sheets: the labels to print, as data (for ``serah labels``,
which renders locally with a progress bar) or as a print-ready PDF."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
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
# A page of an office's, consignment's or import batch's labels: the store cuts it from
# the selection in asset-id order, so a page costs the same at 80 laptops an office or 2,200.
PAGE = 100
After = Annotated[
    str | None,
    Query(
        pattern=labels.ASSET_ID.pattern,
        description='Begin after this asset id (the `after` of the `Link: rel="next"` header of the page before).',
    ),
]
NEXT_PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Link": {
                "description": 'When more labels match: `<URL of the next page>; rel="next"`.',
                "schema": {"type": "string"},
            }
        }
    }
}


async def select(
    gw: Gateway,
    asset_id: list[str] | None,
    office_code: str | None,
    consignment_id: str | None,
    limit: int,
    import_batch: str | None = None,
    after: str | None = None,
) -> tuple[list[LabelToPrint], str | None]:
    """Up to ``limit`` laptops' labels; by asset ids in the order asked for, else in
    asset-id order, beginning after the asset id ``after``. With them the asset id the
    next page begins after, or None when no more match."""
    query: dict[str, Any] = {}
    if asset_id:
        query["_id"] = {"$in": asset_id}
    else:
        # A string _id above ``after`` (every asset id is above ""): the form of filter
        # the store answers with a page from its index (docs/decisions/ferretdb-patches.md).
        query["_id"] = {"$gt": after or ""}
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
    views = await gw.reads.label_views(query, limit + 1)
    if not views and after is None:
        raise ApiError(404, "no_labels", "No registered laptop matches this selection: check the ids or codes.")
    following = None
    if len(views) > limit:
        views = views[:limit]
        following = views[-1]["_id"]
    if asset_id:  # print in the order asked for
        order = {a: i for i, a in enumerate(asset_id)}
        views.sort(key=lambda v: order.get(v["_id"], len(order)))
    out = []
    for v in views:
        url = gw.issuer.current_url(v["_id"], v)
        if url is None:  # a view without a label generation (allocated, not registered) is not printed
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
    return out, following


def to_print(items: list[LabelToPrint]) -> list[label_pdf.LabelPrint]:
    return [label_pdf.LabelPrint(i.asset_id, i.serial, i.label_url, i.kode_barang, i.nup, i.office_name) for i in items]


@router.get(
    "/labels",
    response_model=list[LabelToPrint],
    responses={**NOT_FOUND, **NEXT_PAGE},
    summary="The current labels of the selected laptops (what a sheet prints), a page at a time",
)
async def labels_to_print(
    who: Operator,
    gw: GW,
    request: Request,
    response: Response,
    asset_id: AssetIds = None,
    office_code: Office = None,
    consignment_id: Consignment = None,
    limit: Annotated[
        int | None, Query(ge=1, le=MAX_LABELS, description=f"Labels per page (default {PAGE}; by asset ids, all).")
    ] = None,
    import_batch: Consignment = None,
    after: After = None,
) -> list[LabelToPrint]:
    """Select by asset ids, office, consignment or import batch (at least one: `422 no_selection`);
    `404 no_labels` when nothing matches. By asset ids: all of them, in the order asked for.
    Otherwise in asset-id order, `limit` at a time: while more match, the `Link` header
    names the next page (`rel="next"`, the same selection `after` this page's last laptop)."""
    if asset_id:
        items, _ = await select(gw, asset_id, office_code, consignment_id, limit or len(asset_id), import_batch)
        return items
    items, following = await select(gw, None, office_code, consignment_id, limit or PAGE, import_batch, after)
    if following is not None:
        response.headers["Link"] = f'<{request.url.include_query_params(after=following)}>; rel="next"'
    return items


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
    items, _ = await select(gw, asset_id, office_code, consignment_id, limit, import_batch)
    pdf = await asyncio.to_thread(label_pdf.render, to_print(items), layout)  # CPU-bound: keep the loop free
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="serah-labels-{layout}.pdf"'},
    )
