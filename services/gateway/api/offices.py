"""The recipient offices (Kesbangpol) a laptop can be allocated to, by official region code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from events import offices
from services.gateway.api.laptops import NOT_FOUND
from services.gateway.api.responses import OfficePublic
from services.gateway.deps import Anyone
from services.gateway.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["offices"])


@router.get(
    "/offices",
    response_model=list[OfficePublic],
    summary="Recipient offices (Kesbangpol), by region code",
)
async def list_offices(
    who: Anyone,
    province: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Two-digit province code, e.g. 32.")
    ] = None,
) -> list[OfficePublic]:
    """Every office a laptop can be allocated to: the provinces and their regencies and cities."""
    return [_office(o) for o in offices.all_offices() if province is None or o.province_code == province]


@router.get(
    "/offices/{code}",
    response_model=OfficePublic,
    responses=NOT_FOUND,
    summary="One office by region code",
)
async def get_office(who: Anyone, code: Annotated[str, Path(pattern=r"^[0-9]{2}(\.[0-9]{2})?$")]) -> OfficePublic:
    """`404 unknown_office` for a well-formed code that is not a region."""
    office = offices.get(code)
    if office is None:
        raise ApiError(404, "unknown_office", f"{code} is not an official region code; see /api/v1/offices.")
    return _office(office)


def _office(o: offices.Office) -> OfficePublic:
    return OfficePublic(
        code=o.code, name=o.name, region_name=o.region_name, level=o.level, province_code=o.province_code
    )
