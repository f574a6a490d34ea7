"""An office's list of staff (daftar pegawai): who may hold its laptops (name, NIP, jabatan,
unit) and which of its laptops each holds, with the laptops held by someone no longer
on the list; replacing the list with a CSV file, or adding or removing one person.

The file is the one ``serah import-holders`` takes, read by the same reader, so a file
that works at the command line works here and is refused here for the same reasons,
row by row: one row per person, ``office_code, nip, name, jabatan, unit`` and optionally
the laptop the person holds (``serial`` or ``asset_id``, with its ``condition``). A file
with any row refused records nothing (the list is replaced whole, and a list missing the
rows to fix would drop those people): the page says which line, what is wrong and what
to fix. A file whose rows all stand becomes the office's list, and each laptop a row
names is handed to that person, as the command does, each with its own berita acara.

Adding or removing one person sends the list as shown with that change. The form says
which list it was shown (the recording event's id): if the list changed since (or the
views have not caught up with the last change yet), the change is refused, not applied
to a list the person did not see.

Every change calls the API's own routes (``api.custody.record_roster``,
``api.custody.assign_holder``) with what a program would send."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from events.catalog import MAX_ROSTER, Holder, Official
from services.common.csvfile import ImportFileError, decode
from services.common.holders_file import read_holders, request_id
from services.gateway.api import custody as custody_api
from services.gateway.api import scope
from services.gateway.api.custody import OfficeCode
from services.gateway.api.requests import AssignRequest, RosterRequest
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, page_allow, page_form
from services.gateway.web import as_page, forms, render

router = APIRouter(include_in_schema=False)
PAGE = "/kantor/{code}/pegawai"

OfficePage = Annotated[Principal, Depends(page_allow(Role.RECIPIENT, Role.OPERATOR))]
OfficeForm = Annotated[Principal, Depends(page_form(Role.RECIPIENT, Role.OPERATOR))]

# How long a change waits for the views to show the list its form was shown, before
# saying the list changed: the page a change answers with is ahead of the views by the
# audit's lag (well under a second on a healthy stack).
CATCH_UP_S = 5.0
# A staff list's file: far more than 2,000 people's rows, far less than the body limit.
MAX_FILE_BYTES = 700 * 1024


@router.get(PAGE)
async def roster(who: OfficePage, request: Request, gw: GW, code: OfficeCode) -> HTMLResponse:
    return await _page(request, gw, who, code)


@router.post(PAGE)
async def replace(who: OfficeForm, request: Request, gw: GW, code: OfficeCode) -> HTMLResponse:
    """A CSV file becomes the office's list; the laptops it names are handed out."""
    form = await request.form()
    async with as_page():
        scope.office_acted_for(who, code)
    try:
        rows = read_file(await _file(form), code)
        official = _handing_out(who, form) if any(r["asset_id"] for r in rows) else None
        members = [r["holder"] for r in rows]
        decision = await _record(gw, who, code, members)
    except forms.Refused as refused:
        return await _page(request, gw, who, code, form="file", **refused.shown())
    except RowsRefused as bad:
        return await _page(request, gw, who, code, form="file", status=422, rows=bad.rows)
    handed = [await _hand_out(gw, who, row, official) for row in rows if row["asset_id"]]
    return await _page(request, gw, who, code, form="file", decision=decision, handed=handed)


@router.post(PAGE + "/tambah")
async def add(who: OfficeForm, request: Request, gw: GW, code: OfficeCode) -> HTMLResponse:
    """One person added to the list as it was shown."""
    form = await request.form()
    async with as_page():
        scope.office_acted_for(who, code)
    try:
        try:
            person = Holder(
                name=forms.field(form, "name"),
                nip=forms.field(form, "nip"),
                jabatan=forms.field(form, "jabatan"),
                unit=forms.field(form, "unit"),
            ).model_dump(mode="json")
        except ValidationError as exc:
            raise forms.invalid(exc, "invalid_form") from exc
        members = await _as_shown(gw, code, forms.field(form, "list_id"))
        if any(m["nip"] == person["nip"] for m in members):
            raise forms.Refused(409, "already_listed", f"NIP {person['nip']} is on the list already.")
        decision = await _record(gw, who, code, [*members, person])
    except forms.Refused as refused:
        return await _page(request, gw, who, code, form="add", **refused.shown())
    return await _page(request, gw, who, code, form="add", decision=decision)


@router.post(PAGE + "/hapus")
async def remove(who: OfficeForm, request: Request, gw: GW, code: OfficeCode) -> HTMLResponse:
    """One person (by NIP) taken off the list as it was shown."""
    form = await request.form()
    async with as_page():
        scope.office_acted_for(who, code)
    nip = forms.field(form, "nip")
    try:
        members = await _as_shown(gw, code, forms.field(form, "list_id"))
        if not any(m["nip"] == nip for m in members):
            raise forms.Refused(404, "not_listed", f"NIP {nip[:18]} is not on the list.")
        decision = await _record(gw, who, code, [m for m in members if m["nip"] != nip])
    except forms.Refused as refused:
        return await _page(request, gw, who, code, form="remove", **refused.shown())
    return await _page(request, gw, who, code, form="remove", decision=decision)


# --- reading the file ---


class RowsRefused(Exception):
    """Rows of the file that cannot stand, each with its line, code and what to fix."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(rows)} rows refused")
        self.rows = rows


async def _file(form: FormData) -> bytes:
    upload = form.get("file")
    data = await upload.read(MAX_FILE_BYTES + 1) if isinstance(upload, UploadFile) else b""
    if not data:
        raise forms.Refused(422, "file_required", "Choose the CSV file with the office's staff list.")
    if len(data) > MAX_FILE_BYTES:
        raise forms.Refused(413, "file_too_large", f"A staff list's file may be at most {MAX_FILE_BYTES // 1024} KiB.")
    return data


def read_file(data: bytes, code: str) -> list[dict[str, Any]]:
    """The file's rows for office ``code`` (each ``holder``, ``asset_id``, ``condition``, ``line``),
    or ``RowsRefused`` with every row that cannot stand, or ``Refused`` for a file that is not one."""
    # The command's own reader: the page and ``serah import-holders`` take the same files.
    try:
        by_office, rejects = read_holders(decode(data))
    except ImportFileError as exc:
        raise forms.Refused(422, "invalid_file", str(exc)) from exc
    bad = [{"line": r.line, "code": r.code, "reason": r.reason, "raw": r.raw} for r in rejects]
    for other, rows in by_office.items():
        if other != code:
            bad += [
                {
                    "line": r.line,
                    "code": "other_office",
                    "reason": f"this row is for office {other}; this page records office {code}'s list: "
                    f"set office_code to {code}, or import it on office {other}'s page.",
                    "raw": r.raw,
                }
                for r in rows
            ]
    good = by_office.get(code, [])
    if bad:
        raise RowsRefused(sorted(bad, key=lambda r: r["line"]))
    if not good:
        raise forms.Refused(422, "no_rows", "The file lists no one: one row per person, after the header row.")
    if len(good) > MAX_ROSTER:
        raise forms.Refused(422, "too_many_rows", f"A staff list may name at most {MAX_ROSTER} people.")
    return [{**(r.body or {}), "line": r.line, "row": r} for r in good]


def _handing_out(who: Principal, form: FormData) -> Official | None:
    """Who hands the file's laptops over: a signed-in official themselves; a device names them."""
    problem = "The file hands laptops out: name the official who hands them over (name, 18-digit NIP, jabatan)."
    return forms.named_official(who, lambda n: forms.field(form, f"official_{n}"), "official_required", problem)


# --- sending ---


async def _as_shown(gw: Gateway, code: str, list_id: str) -> list[dict[str, Any]]:
    """The list the form was shown (by the id of the event that recorded it, "" for none)."""
    deadline = time.monotonic() + CATCH_UP_S
    while True:
        members, _, current = await custody_api.office_roster(gw, code)
        if (current or "") == list_id:
            return members
        if time.monotonic() >= deadline:
            raise forms.Refused(
                409, "list_changed", "The list changed since this page was shown: reload it and make the change again."
            )
        await asyncio.sleep(0.25)


async def _record(gw: Gateway, who: Principal, code: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        body = RosterRequest.model_validate({"members": members})
    except ValidationError as exc:
        raise forms.invalid(exc, "invalid_form") from exc
    return await forms.send(custody_api.record_roster(who, code, body, gw))


async def _hand_out(gw: Gateway, who: Principal, row: dict[str, Any], official: Official | None) -> dict[str, Any]:
    """One row's laptop handed to its person, as ``serah import-holders`` does (the same request id)."""
    shown = {"line": row["line"], "asset_id": row["asset_id"], "name": row["holder"]["name"]}
    try:
        body = AssignRequest(
            request_id=request_id(row["row"]),
            holder=Holder.model_validate(row["holder"]),
            condition=row["condition"],
            assigned_by=official,
        )
        decision = await forms.send(custody_api.assign_holder(who, row["asset_id"], body, gw))
    except forms.Refused as refused:
        return {**shown, "decision": "rejected", "code": refused.code, "problem": refused.problem}
    document = ((decision.get("event") or {}).get("data") or {}).get("document")
    return {**shown, "decision": decision.get("decision"), "document": document}


# --- the page ---


async def _page(
    request: Request,
    gw: Gateway,
    who: Principal,
    office_code: str,
    *,
    form: str | None = None,
    decision: dict[str, Any] | None = None,
    handed: list[dict[str, Any]] | None = None,
    rows: list[dict[str, Any]] | None = None,
    problem: str | None = None,
    code: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with as_page():
        office = scope.office_acted_for(who, office_code)
    members, recorded_at, list_id = await custody_api.office_roster(gw, office_code)
    event = (decision or {}).get("event") or {}
    if event.get("data", {}).get("members") is not None:  # just recorded: ahead of the views
        members, recorded_at, list_id = event["data"]["members"], event.get("time"), event.get("id")
    held = await custody_api.held_at(gw, office_code)
    listed = {m["nip"] for m in members}
    return render(
        request,
        "roster.html",
        status=status,
        office=office,
        members=sorted(members, key=lambda m: (m["unit"], m["name"])),
        recorded_at=recorded_at,
        list_id=list_id or "",
        held=held,
        unlisted={nip: assets for nip, assets in held.items() if nip not in listed},
        csrf=await forms.session_csrf(request, gw, who),
        shared_device=who.kind != "person",
        form=form,
        decision=decision,
        handed=handed or [],
        rows=rows or [],
        problem=problem,
        code=code,
    )
