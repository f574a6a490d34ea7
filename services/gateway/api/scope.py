"""Which office a request may act for. A recipient official (or an office's enrolled
device) acts only on laptops and consignments addressed to an office their grant
covers. Another office's laptop or consignment answers 403 ``not_your_office``,
not 404: its id is printed on labels and manifests that travel, so hiding that it
exists protects nothing, and a clear refusal tells the official to check the
paperwork. The deciding service still checks everything else."""

from __future__ import annotations

from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.errors import ApiError


async def laptop_office(gw: Gateway, asset_id: str) -> str | None:
    view = await gw.reads.laptop(asset_id)
    return (view or {}).get("office_code")


async def consignment_office(gw: Gateway, consignment_id: str) -> str | None:
    summary = await gw.consignments.summary(consignment_id)
    return (summary or {}).get("office_code")


def act_for(who: Principal, role: Role, office_code: str | None, what: str) -> None:
    """Refuses unless ``who`` holds ``role`` for ``office_code``. An unknown office (the
    subject is not allocated or planned yet) is left to the deciding service's refusal."""
    if office_code is not None and not who.may(role, office_code):
        mine = ", ".join(sorted(who.scopes(role))) or "none"
        raise ApiError(
            403,
            "not_your_office",
            f"{what} is addressed to office {office_code}; your grant covers {mine}. "
            "Check the label or the manifest, or ask an administrator for the right grant.",
        )


def signs_as_themselves(who: Principal, nip: str) -> None:
    """A person signs a BAST only as themselves; an office's device may carry any
    official the plan names (the deciding service checks the plan)."""
    if who.kind == "person" and who.nip != nip:
        raise ApiError(
            403,
            "not_yourself",
            f"You are signed in as {who.name}; the official who signs must be you (NIP {who.nip or 'not set'}).",
        )
