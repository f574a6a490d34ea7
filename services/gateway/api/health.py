"""GET /healthz: 200 when Kafka, the store (reads, a write, and no worker's writes held
by its refusals) and every worker are ready, else 503 with the reasons. Each worker
reports liveness by heartbeat, stamped and judged by the store's clock (a server whose
clock jumps neither kills nor revives a worker on the page); its consumer lag is read
from Kafka (committed offsets of its group vs. the log ends)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from events import topics
from services.common.clock import describe
from services.gateway.api.responses import Health
from services.gateway.deps import GW, Anyone

router = APIRouter()

PROBE_TIMEOUT_S = 4.0


@router.get(
    "/healthz",
    tags=["operations"],
    summary="Readiness of Kafka, the store and each worker",
    response_model=Health,
    responses={
        200: {"model": Health, "description": "Everything is ready."},
        503: {"model": Health, "description": "Something is not ready; `reasons` says what."},
    },
)
async def healthz(who: Anyone, gw: GW) -> JSONResponse:
    """`status` is `ok` or `unavailable`; each worker reports `alive`, `ready`, `instances` and its consumer `lag`."""
    reasons: list[str] = []
    body: dict[str, Any] = {}

    try:
        brokers = await asyncio.wait_for(asyncio.to_thread(gw.probe.brokers), PROBE_TIMEOUT_S)
        body["kafka"] = {"ok": True, "brokers": brokers}
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with the reason
        body["kafka"] = {"ok": False, "error": repr(exc)}
        reasons.append("Kafka is not reachable")

    heartbeats: list[dict[str, Any]] = []
    now = gw.clock()
    try:
        now = await asyncio.wait_for(gw.reads.ping(), PROBE_TIMEOUT_S)
        heartbeats = await asyncio.wait_for(gw.reads.heartbeats(), PROBE_TIMEOUT_S)
        body["store"] = {"ok": True, "writable": True}
    except Exception as exc:  # noqa: BLE001
        body["store"] = {"ok": False, "error": repr(exc)}
        reasons.append("the store is not reachable")
    else:
        # A store whose disk is full answers reads; only a write tells. Its workers' heartbeats
        # then age too, so this reason comes first: they are waiting, not gone.
        try:
            await asyncio.wait_for(gw.store_probe.write(), PROBE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001
            body["store"] = {"ok": False, "writable": False, "error": repr(exc)}
            reasons.append("the store refuses writes")

    if not gw.clock_guard.trusted():
        reasons.append(f"the gateway's clock is {describe(gw.clock_guard.off_by_s())} the store's")
    workers: dict[str, Any] = {}
    for name, names in topics.CONSUMED_BY.items():
        live = [
            h
            for h in heartbeats
            if h.get("service") == name and (now - h["at"]).total_seconds() < gw.settings.worker_stale_s
        ]
        ready = [h for h in live if h.get("assigned_partitions", 0) > 0]
        info: dict[str, Any] = {"alive": bool(live), "ready": bool(ready), "instances": len(live)}
        if body["kafka"]["ok"]:
            try:
                info["lag"] = await asyncio.wait_for(
                    asyncio.to_thread(gw.probe.lag, topics.consumer_group(name), list(names)), PROBE_TIMEOUT_S
                )
            except Exception as exc:  # noqa: BLE001
                info["lag_error"] = repr(exc)
        if not ready:
            reasons.append(f"the {name} worker is {'starting (no partitions yet)' if live else 'not running'}")
        refused = [h["store_refusing"] for h in live if h.get("store_refusing")]
        if refused:
            info["store_refusing"] = refused[0]
            if "the store refuses writes" not in reasons:
                reasons.insert(0, "the store refuses writes")
                body["store"] = {"ok": False, "writable": False, "error": refused[0]}
        off = [h for h in live if abs(h.get("clock_off_s") or 0) > (h.get("clock_tolerance_s") or float("inf"))]
        if off:
            info["clock_off_s"] = off[0]["clock_off_s"]
            reasons.append(f"the {name} worker's clock is {describe(off[0]['clock_off_s'])} the store's: it waits")
        workers[name] = info
    body["workers"] = workers
    body["status"] = "ok" if not reasons else "unavailable"
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=200 if not reasons else 503)
