"""Which office a request may act for. A recipient official (or an office's enrolled
device) acts only on laptops and consignments addressed to an office their grant
covers. Another office's laptop or consignment answers 403 ``not_your_office``,
not 404: its id is printed on labels and manifests that travel, so hiding that it
exists protects nothing, and a clear refusal tells the official to check the
paperwork. The deciding service still checks everything else."""

from __future__ import annotations

from collections.abc import Iterable

from events import offices
from events.catalog import Official
from services.gateway.auth.model import EVERYWHERE, Principal, Role
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
    act_for_any(who, (role,), office_code, what)


def office_acted_for(who: Principal, code: str) -> offices.Office:
    """The reference office ``code``, for which ``who`` acts as its recipient official or an operator."""
    office = offices.get(code)
    if office is None:
        raise ApiError(404, "unknown_office", f"{code} is not an official region code; see GET /api/v1/offices.")
    act_for_any(who, (Role.RECIPIENT, Role.OPERATOR), code, f"office {code}")
    return office


def act_for_any(who: Principal, roles: Iterable[Role], office_code: str | None, what: str) -> None:
    """``act_for`` where any of ``roles`` will do (an office's official, or an operator for the centre)."""
    roles = tuple(roles)
    if office_code is not None and not any(who.may(role, office_code) for role in roles):
        mine = ", ".join(sorted({s for role in roles for s in who.scopes(role)})) or "none"
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


def region(who: Principal, asked: str | None) -> str | None:
    """The region an auditor's read covers: what was asked, within the grant. An auditor
    of everywhere reads anything; an auditor of one region reads it by default and is
    refused another (``403 not_your_region``)."""
    scopes = who.scopes(Role.AUDITOR)
    if EVERYWHERE in scopes:
        return asked
    if asked is None:
        if len(scopes) == 1:
            return next(iter(scopes))
        raise ApiError(
            403,
            "not_your_region",
            f"Name the region to read (`province` or `office`): you audit {', '.join(sorted(scopes))}.",
        )
    if not who.may(Role.AUDITOR, asked):
        raise ApiError(
            403, "not_your_region", f"Region {asked} is outside what you audit ({', '.join(sorted(scopes))})."
        )
    return asked


def _everywhere_in_the_warehouse(who: Principal) -> bool:
    return EVERYWHERE in who.scopes(Role.WAREHOUSE) or not who.scopes(Role.WAREHOUSE)


async def picks_at(gw: Gateway, who: Principal, consignment_id: str) -> None:
    """Refuses a warehouse grant that does not reach the warehouse the consignment is picked
    at (``403 not_your_warehouse``). A grant of every warehouse (``*``) is not asked, so
    it costs no read; a consignment that names no warehouse may be picked at any."""
    if _everywhere_in_the_warehouse(who):
        return
    plan = await gw.consignments.plan(consignment_id)
    warehouse = (plan or {}).get("warehouse")
    if warehouse is not None and not who.may(Role.WAREHOUSE, warehouse):
        mine = ", ".join(sorted(who.scopes(Role.WAREHOUSE)))
        raise ApiError(
            403,
            "not_your_warehouse",
            f"{consignment_id} is picked at warehouse {warehouse}; your grant covers {mine}. "
            "Check the pick list, or ask an administrator for the right grant.",
        )


def dispatches_alone(who: Principal) -> None:
    """A laptop dispatched on its own (outside a consignment) names no warehouse, so only
    a grant of every warehouse may dispatch it."""
    if not _everywhere_in_the_warehouse(who):
        raise ApiError(
            403,
            "not_your_warehouse",
            "A laptop dispatched on its own names no warehouse: scan it into a consignment of your warehouse, "
            "or ask an administrator for a grant of every warehouse (`*`).",
        )


async def audits(gw: Gateway, who: Principal, subject: str) -> None:
    """Refuses a chain (a laptop's or a consignment's) outside an auditor's region."""
    if EVERYWHERE in who.scopes(Role.AUDITOR):
        return
    office = await laptop_office(gw, subject) or await consignment_office(gw, subject)
    if office is None or not who.may(Role.AUDITOR, office):
        raise ApiError(403, "not_your_region", f"{subject} is not in a region you audit; ask for one that is.")


def dispatcher(who: Principal, named: Official | None) -> Official:
    """Who dispatches a consignment, printed on its BAST as PIHAK PERTAMA: a signed-in
    person is that official themselves (their account's name, NIP and jabatan); a
    warehouse device, used by whoever is on shift, names the official responsible."""
    if who.kind == "person":
        if named is not None and named.nip != who.nip:
            raise ApiError(
                403,
                "not_yourself",
                f"You are signed in as {who.name}; the official who dispatches must be you "
                f"(NIP {who.nip or 'not set'}): leave `dispatcher` out.",
            )
        if not who.nip or not who.jabatan:
            raise ApiError(
                422,
                "dispatcher_unknown",
                "The BAST names the dispatching official by NIP and jabatan, and your account has "
                f"no {'NIP' if not who.nip else 'jabatan'}: ask an administrator for an account that has both.",
            )
        return Official(name=who.name, nip=who.nip, jabatan=who.jabatan)
    if named is None:
        raise ApiError(
            422,
            "dispatcher_required",
            "A device closing a consignment must name the official who dispatches it: send "
            '`{"dispatcher": {"name": …, "nip": …, "jabatan": …}}`; the BAST prints them as PIHAK PERTAMA.',
        )
    return named


def signing_official(who: Principal, named: Official | None, what: str, field: str) -> Official:
    """Who signs a document for an office (hands a laptop to its holder, proposes a write-off):
    a signed-in person is that official themselves; an office's device names the official."""
    if who.kind == "person":
        if named is not None and named.nip != who.nip:
            raise ApiError(
                403,
                "not_yourself",
                f"You are signed in as {who.name}; the official who {what} must be you "
                f"(NIP {who.nip or 'not set'}): leave `{field}` out.",
            )
        return in_person(who, what)
    if named is None:
        raise ApiError(
            422,
            "official_required",
            f"A device must name the official who {what}: send `{field}` with name, nip and jabatan; "
            "the document prints them.",
        )
    return named


def in_person(who: Principal, what: str) -> Official:
    """The signed-in person as an official (name, NIP, jabatan): some acts are a person's own
    signature, which a shared device cannot give (a holder's confirmation, deciding a write-off)."""
    if who.kind != "person":
        raise ApiError(
            403,
            "person_required",
            f"Whoever {what} signs in as themselves (POST /api/v1/session); a device cannot do it for them.",
        )
    if not who.nip:
        raise ApiError(
            422,
            "official_unknown",
            f"Whoever {what} is named by NIP, and your account has none: ask an administrator to add it.",
        )
    return Official(name=who.name, nip=who.nip, jabatan=who.jabatan or "-")


def receives_at(who: Principal, warehouse: str | None) -> None:
    """A laptop scanned back into stock: a grant of one warehouse receives at that warehouse only."""
    if _everywhere_in_the_warehouse(who):
        return
    if warehouse is None or not who.may(Role.WAREHOUSE, warehouse):
        mine = ", ".join(sorted(who.scopes(Role.WAREHOUSE)))
        raise ApiError(
            403,
            "not_your_warehouse",
            f"Your grant covers warehouse {mine}: name it in `warehouse`, or ask for a grant of every warehouse.",
        )
