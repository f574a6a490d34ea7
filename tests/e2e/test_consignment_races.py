"""Issue 4, bad input and races through the real stack: two officials confirming
one consignment at once, one scan id from two devices, an official of another
office, scans and closes after closing. Each race is run many times, its
contenders released together by a barrier, and its invariant checked only once
the stream has settled."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from deploy.local.stack import Stack
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.conftest import CLOSE
from tests.e2e.test_consignment_journey import OFFICIAL, laptops, plan, scan
from tests.settle import settled

SECOND = {"name": "Siti Rahma", "nip": "198502022010012002", "jabatan": "Sekretaris Badan Kesbangpol"}


def dispatched(api: httpx.Client, n: int, officials: list[dict[str, str]]) -> tuple[str, str, list[dict[str, Any]]]:
    cid = f"RACE-{uuid.uuid4().hex[:8]}"
    units = laptops(api, n)
    planned = plan(api, cid, [u["asset_id"] for u in units], officials=officials)
    for u in units:
        assert scan(api, cid, u["label"]).json()["decision"] == "accepted"
    assert api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE).status_code == 200
    eventually(
        lambda: cid in [c["consignment_id"] for c in api.get("/api/v1/consignments/unconfirmed").json()],
        what="dispatched",
    )
    return cid, planned["receipt_code"], units


def receipt(units: list[dict[str, Any]], official: dict[str, str], code: str) -> dict[str, Any]:
    return {
        "receipt_id": f"r-{uuid.uuid4().hex[:8]}",
        "official": official,
        "receipt_code": code,
        "lines": [{"asset_id": u["asset_id"], "condition": "B", "note": ""} for u in units],
        "missing": [],
    }


ROUNDS = 12
# How long the second contender waits after the first is released, by round: none
# (both at once), then a head start that alternates with the order, so each side
# arrives first in some rounds.
STAGGERS_S = (0.0, 0.0, 0.005, 0.02)


def race(
    stack: Stack, path: str, bodies: list[dict[str, Any]], stagger_s: float, *, one_device: bool = False
) -> list[httpx.Response]:
    """POSTs each body to ``path`` from its own connection, all released together by a
    barrier once every connection is open; all but the first wait ``stagger_s`` more.
    Each connection is a device of its own, or with ``one_device`` the same device
    (a phone retrying over a second connection)."""
    barrier = threading.Barrier(len(bodies))
    shared = device_token(stack, name="race device") if one_device else None

    def contender(i: int) -> httpx.Response:
        token = shared or device_token(stack, name=f"race device {i}")
        with httpx.Client(base_url=stack.url, timeout=60, headers=signed_in(token)) as device:
            assert device.get("/healthz").status_code in (200, 503)  # the connection is open before the start
            barrier.wait(timeout=60)
            if i > 0 and stagger_s:
                time.sleep(stagger_s)
            return device.post(path, json=bodies[i])

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(contender, range(len(bodies))))


def test_two_officials_confirming_one_consignment_at_once_give_one_receipt_and_one_bast(
    api: httpx.Client, stack: Stack
) -> None:
    for round_ in range(ROUNDS):
        cid, code, units = dispatched(api, 1, [OFFICIAL, SECOND])
        officials = [OFFICIAL, SECOND] if round_ % 2 == 0 else [SECOND, OFFICIAL]
        bodies = [receipt(units, o, code) for o in officials]
        answers = race(stack, f"/api/v1/consignments/{cid}/receipt", bodies, STAGGERS_S[round_ % len(STAGGERS_S)])
        context = (round_, [a.text for a in answers])
        assert sorted(a.status_code for a in answers)[0] == 200, context
        [(winner, signer)] = [(a, o) for a, o in zip(answers, officials, strict=True) if a.status_code == 200]
        assert winner.json()["event"]["data"]["official"]["nip"] == signer["nip"], context
        [loser] = [a for a in answers if a is not winner]
        # The documented refusal: the consignment is received already, or its laptops are no longer expected.
        assert (loser.status_code, loser.json()["code"]) in ((409, "already_received"), (422, "not_expected")), context
        assert loser.headers["content-type"].startswith("application/problem+json") and loser.json()["detail"]

        settled(stack)
        view = api.get(f"/api/v1/consignments/{cid}").json()
        assert len(view["basts"]) == 1 and view["status"] == "received", (round_, view)
        assert api.get(f"/api/v1/consignments/{cid}/bast.pdf", params={"seq": 2}).json()["code"] == "unknown_bast"


def test_the_same_scan_id_sent_twice_at_once_by_one_device_is_one_scan(
    api: httpx.Client, stack: Stack, mongo: Any
) -> None:
    for round_ in range(ROUNDS):
        cid = f"RACE-{uuid.uuid4().hex[:8]}"
        units = laptops(api, 1)
        plan(api, cid, [u["asset_id"] for u in units])
        scan_id = f"s-{uuid.uuid4().hex[:8]}"
        body = {"scan_id": scan_id, "label": units[0]["label"]}
        stagger = STAGGERS_S[round_ % len(STAGGERS_S)]
        answers = race(stack, f"/api/v1/consignments/{cid}/scans", [body, body], stagger, one_device=True)
        context = (round_, [a.text for a in answers])
        assert [a.status_code for a in answers] == [200, 200], context
        assert [a.json()["decision"] for a in answers] == ["accepted", "accepted"], context
        assert answers[0].json()["event"]["id"] == answers[1].json()["event"]["id"], context  # one decision, told twice

        settled(stack)
        view = api.get(f"/api/v1/consignments/{cid}").json()
        assert view["scanned"] == [units[0]["asset_id"]], (round_, view)
        decided = list(mongo.event_log.find({"causationid": scan_id}))
        assert len(decided) == 1, (round_, decided)  # one event in the audit log, told to both connections
        assert decided[0]["_id"] == answers[0].json()["event"]["id"]


def test_an_official_not_named_for_the_office_cannot_confirm_even_with_the_code(
    api: httpx.Client, stack: Stack
) -> None:
    cid, code, units = dispatched(api, 1, [OFFICIAL])
    r = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, SECOND, code))
    assert r.status_code == 403 and r.json()["code"] == "official_not_authorised", r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["detail"]
    settled(stack)
    assert api.get(f"/api/v1/consignments/{cid}").json()["basts"] == []


def test_scans_and_closes_after_closing_are_refused_and_change_nothing(api: httpx.Client, stack: Stack) -> None:
    cid, _, units = dispatched(api, 1, [OFFICIAL])
    settled(stack)
    before = api.get(f"/api/v1/consignments/{cid}").json()
    late = scan(api, cid, units[0]["label"])
    assert late.status_code == 409 and late.json()["code"] == "consignment_closed"
    again = api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE)
    assert again.status_code == 409 and again.json()["code"] == "consignment_closed"
    settled(stack)
    view = api.get(f"/api/v1/consignments/{cid}").json()
    assert view["scanned"] == [units[0]["asset_id"]] and view["status"] == "dispatched"
    assert view == before
