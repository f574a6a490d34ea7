"""What auditors see — timelines with a chain verdict, proofs, exports
(JSON Lines for ``serah verify``, CSV for spreadsheets), anomalies, roll-ups,
attestation due lists, and the attestation scan."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from events import labels, lifecycle, proofs
from events.catalog import BY_TYPE
from events.envelope import SAFE_ID
from events.text import spreadsheet_cell
from services.gateway import rollups
from services.gateway.api import scope
from services.gateway.api.laptops import NOT_FOUND, AssetId
from services.gateway.api.render import binary
from services.gateway.api.responses import (
    AnomalyPublic,
    AttestationDue,
    ChainVerdictPublic,
    CheckpointPublic,
    LaptopTimeline,
    ProvinceRollup,
    PublicKey,
    TimelineEntry,
)
from services.gateway.auth.model import EVERYWHERE, Role
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, Anyone, Auditor, SignedIn
from services.gateway.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["audit"])
Province = Annotated[str | None, Query(pattern=r"^[0-9]{2}$", description="Province code, e.g. 32")]
Office = Annotated[
    str | None, Query(pattern=r"^[0-9]{2}(\.[0-9]{2})?$", description="Office (region) code, e.g. 32.73")
]
NDJSON = "application/x-ndjson"


@router.get(
    "/audit/checkpoint-keys", response_model=list[PublicKey], summary="Public keys that verify checkpoints offline"
)
async def checkpoint_keys(who: Anyone, gw: GW) -> list[PublicKey]:
    """Ed25519 keys of the audit service; the first is the one signing now."""
    ring = labels.parse_keyring(gw.settings.audit_public_keys)
    return [PublicKey(key_id=k, public_key=proofs.b64(v), active=i == 0) for i, (k, v) in enumerate(ring.items())]


@router.get(
    "/audit/checkpoints", response_model=list[CheckpointPublic], summary="Every signed checkpoint, oldest first"
)
async def list_checkpoints(who: Auditor, gw: GW) -> list[dict[str, Any]]:
    """Each checkpoint signs the Merkle root over every laptop's chain head at its time."""
    return [proofs.checkpoint_public(c) for c in await gw.audit.checkpoints()]


def _keys(gw: Gateway) -> dict[str, bytes]:
    return labels.parse_keyring(gw.settings.audit_public_keys)


@router.get(
    "/audit/laptops/{asset_id}/timeline",
    response_model=LaptopTimeline,
    responses=NOT_FOUND,
    summary="A laptop's events with actor, time, scan id, place, and whether its chain verifies",
)
async def timeline(who: Auditor, asset_id: AssetId, gw: GW) -> LaptopTimeline:
    """`chain` says whether the hash chain verifies against the signed checkpoint (and
    where it breaks); `checkpointed` marks events covered by the latest signed checkpoint."""
    await scope.audits(gw, who, asset_id)
    links = await gw.audit.chain(asset_id)
    if not links:
        raise ApiError(404, "unknown_laptop", f"No events for {asset_id}: check the asset id.")
    verdict = await gw.audit.verdict(asset_id, links, _keys(gw))
    who_acted = await gw.identity.who_acted(link["event"].get("actor", "system") for link in links)
    entries = []
    for n, link in enumerate(links, start=1):
        e = link["event"]
        d = e.get("data", {})
        ok = verdict.verified_at(n)
        name, nip = who_acted[e.get("actor", "system")]
        entries.append(
            TimelineEntry(
                actor_name=name,
                actor_nip=nip,
                seq=link["seq"],
                id=e["id"],
                type=e["type"],
                time=e["time"],
                actor=e.get("actor"),
                command_id=e.get("causationid"),
                place={"office_code": d.get("office_code"), "location": d.get("location")},
                hash=link["hash"],
                chain="verified" if ok else "broken",
                checkpointed=ok and n <= verdict.signed_to_seq,
            )
        )
    return LaptopTimeline(asset_id=asset_id, chain=ChainVerdictPublic(**dataclasses.asdict(verdict)), events=entries)


@router.get(
    "/audit/laptops/{asset_id}/proof",
    response_class=StreamingResponse,
    responses=binary(NDJSON, "One JSON object per line: header, events, checkpoint and proof.", 404),
    summary="One laptop's events with its inclusion proof (JSON Lines; `serah verify FILE --subject ID` checks it)",
)
async def laptop_proof(who: Auditor, asset_id: AssetId, gw: GW) -> StreamingResponse:
    """Checked offline with `serah verify FILE` and the checkpoint keys."""
    await scope.audits(gw, who, asset_id)
    if not await gw.audit.chain(asset_id):
        raise ApiError(404, "unknown_laptop", f"No events for {asset_id}: check the asset id.")
    return _jsonl(gw.audit.export_lines([asset_id]), f"serah-{asset_id}.jsonl")


Subject = Annotated[str, Query(pattern=SAFE_ID)]


@router.get(
    "/audit/export.jsonl",
    response_class=StreamingResponse,
    responses=binary(NDJSON, "One JSON object per line: header, events, the checkpoint and its chain list.", 404),
    summary="Every chain with the signed checkpoint and its chain list, or only the named chains with their "
    "inclusion proofs (JSON Lines; `serah verify` checks it)",
)
async def export_jsonl(
    who: Auditor,
    gw: GW,
    subject: Annotated[
        list[Subject] | None,
        Query(max_length=1000, description="Only these chains (asset or consignment ids), each with its proof."),
    ] = None,
) -> StreamingResponse:
    """Streamed; checked offline with `serah verify FILE` and the checkpoint keys. A named
    chain that does not exist is `404 unknown_subject`, before anything is streamed. An auditor
    of one region exports named chains of that region (`403 not_your_region` otherwise)."""
    if EVERYWHERE not in who.scopes(Role.AUDITOR):
        if not subject:
            raise ApiError(403, "not_your_region", "You audit one region: name its chains with `subject`.")
        for one in sorted(set(subject)):
            await scope.audits(gw, who, one)
    if subject and (unknown := await gw.audit.unknown_chains(sorted(set(subject)))):
        raise ApiError(
            404, "unknown_subject", f"no chain for {', '.join(unknown[:10])}: check the asset or consignment ids."
        )
    return _jsonl(gw.audit.export_lines(subject), "serah-export.jsonl")


CSV_COLUMNS = (
    "asset_id",
    "seq",
    "time",
    "type",
    "actor",
    "command_id",
    "office_code",
    "condition",
    "rule",
    "lat",
    "lon",
    "note",
    "event_id",
    "hash",
    "prev_hash",
    "chain",
    "chain_problem",
    "state",
)


safe_cell = spreadsheet_cell


@router.get(
    "/audit/export.csv",
    response_class=StreamingResponse,
    responses=binary("text/csv", "A header row, then one row per event (UTF-8)."),
    summary="Every event as one CSV row (safe against formula injection)",
)
async def export_csv(who: Auditor, gw: GW, province: Province = None) -> StreamingResponse:
    """Cells starting with `=`, `+`, `-` or `@` are quoted so a spreadsheet shows them as text.
    An auditor of one region gets that region's rows. `state` is where the laptop is once the event
    happened (registered, …, in_use, in_repair, lost, written_off); empty for other chains."""
    province = scope.region(who, province)
    verdict = await gw.audit.verifier(_keys(gw))

    async def chains() -> AsyncIterator[tuple[list[dict[str, Any]], proofs.ChainVerdict]]:
        # One chain at a time (the log streams in chain order), each with its verdict.
        chain: list[dict[str, Any]] = []
        async for link in gw.audit.all_links():
            if chain and link["asset_id"] != chain[0]["asset_id"]:
                yield chain, verdict(chain[0]["asset_id"], chain)
                chain = []
            chain.append(link)
        if chain:
            yield chain, verdict(chain[0]["asset_id"], chain)

    async def rows() -> AsyncIterator[bytes]:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_COLUMNS)
        async for chain, verdict in chains():
            state = lifecycle.State.UNKNOWN
            for n, link in enumerate(chain, start=1):
                e = link["event"]
                d = e.get("data", {})
                state = lifecycle.after(state, e["type"], d)  # where the laptop is once this event happened
                if province and not str(d.get("office_code") or "").startswith(province):
                    continue
                loc = d.get("location") or {}
                w.writerow(
                    [
                        safe_cell(x)
                        for x in (
                            link["asset_id"],
                            link["seq"],
                            e["time"],
                            e["type"],
                            e.get("actor"),
                            e.get("causationid"),
                            d.get("office_code"),
                            d.get("condition"),
                            d.get("rule"),
                            loc.get("lat"),
                            loc.get("lon"),
                            d.get("note") or d.get("detail"),
                            e["id"],
                            link["hash"],
                            link["prev_hash"],
                            "verified" if verdict.verified_at(n) else "broken",
                            verdict.reason,
                            state.value if _about_a_laptop(e) else "",
                        )
                    ]
                )
            if buf.tell() > 65536:
                yield buf.getvalue().encode()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode()

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="serah-events.csv"'},
    )


@router.get(
    "/audit/anomalies",
    response_model=list[AnomalyPublic],
    summary="Anomalies, newest first, filtered by rule, office or province",
)
async def anomalies(
    who: Auditor,
    gw: GW,
    rule: Annotated[str | None, Query(pattern=r"^[a-z_]{1,64}$")] = None,
    office: Office = None,
    province: Province = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Each anomaly names its `rule` (for example `received_twice`), the laptop and the event that raised it."""
    where = scope.region(who, office or province)
    office, province = (where, None) if where and "." in where else (None, where)
    docs = await gw.audit.anomalies(rule, office, province, limit)
    return [
        {
            "asset_id": d["asset_id"],
            "id": d["_id"],
            "time": d["event"]["time"],
            "caused_by": d["event"].get("causationid"),
            **d["event"]["data"],
        }
        for d in docs
    ]


@router.get(
    "/audit/rollups",
    response_model=list[ProvinceRollup],
    summary="Per province → regency/city office: planned, dispatched, … anomalies",
)
async def get_rollups(who: Auditor, gw: GW, province: Province = None) -> list[dict[str, Any]]:
    """Counts per office, grouped by province, from the counters the audit keeps per office, now."""
    return rollups.counted_rollup(await gw.audit.office_counters(scope.region(who, province)), gw.clock())


@router.get(
    "/audit/attestations",
    response_model=list[AttestationDue],
    summary="Laptops whose usage attestation is due soon or overdue",
)
async def attestations(
    who: SignedIn,
    gw: GW,
    office: Office = None,
    province: Province = None,
    state: Annotated[str, Query(pattern=r"^(due|overdue)$")] = "overdue",
) -> list[dict[str, Any]]:
    """`overdue`: past the attestation interval; `due`: within the due window before it."""
    views = await gw.audit.views(office or province)
    return rollups.attestations(views, gw.clock(), state, office, gw.settings.attestation_due_window_days)


def _about_a_laptop(event: dict[str, Any]) -> bool:
    kind = event.get("subjectkind")
    if kind is None:
        cls = BY_TYPE.get(event["type"])
        kind = cls.SUBJECT_KIND if cls else "message"
    return kind == "laptop"


def _jsonl(lines: AsyncIterator[dict[str, Any]], filename: str) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for line in lines:
            yield orjson.dumps(line) + b"\n"

    return StreamingResponse(
        body(), media_type=NDJSON, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
