"""Bad input gets a 4xx with a machine-readable code and a sentence, and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from deploy.local.stack import Stack
from tests.e2e.conftest import register
from tests.settle import settled

GOOD = {"serial": "X", "brand": "HP", "model": "M", "specs": {"cpu": "c", "ram_gb": 8, "storage_gb": 128}}


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["detail"], body
    return body  # type: ignore[no-any-return]


def test_malformed_json_is_refused(api: httpx.Client) -> None:
    r = api.post("/api/v1/laptops", content=b'{"serial": ', headers={"content-type": "application/json"})
    assert_problem(r, 400, "malformed_json")


@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in GOOD.items() if k != "serial"},  # missing field
        {**GOOD, "owner_password": "x"},  # unknown field
        {**GOOD, "specs": {"cpu": "c", "ram_gb": "lots", "storage_gb": 1}},  # wrong type
        {**GOOD, "specs": {"cpu": "c", "ram_gb": -1, "storage_gb": 1}},  # absurd value
        {**GOOD, "serial": "a b;drop"},  # not a serial
        [1, 2, 3],
        "just a string",
    ],
)
def test_invalid_registrations_are_refused_with_the_fields_named(api: httpx.Client, body: Any) -> None:
    body = (
        {**body, "serial": "H" + uuid.uuid4().hex[:8]} if isinstance(body, dict) and body.get("serial") == "X" else body
    )
    problem = assert_problem(api.post("/api/v1/laptops", json=body), 422, "invalid_request")
    assert problem["errors"]


def test_an_oversized_body_is_refused_before_it_is_read(api: httpx.Client) -> None:
    big = {**GOOD, "model": "x" * 200_000}
    assert_problem(api.post("/api/v1/laptops", json=big), 413, "body_too_large")


def test_an_oversized_chunked_body_is_refused(api: httpx.Client) -> None:
    def chunks() -> Any:
        for _ in range(100):
            yield b"x" * 4096

    assert_problem(
        api.post("/api/v1/scans/dispatch", content=chunks(), headers={"content-type": "application/json"}),
        413,
        "body_too_large",
    )


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("hello", "label_malformed"),
        ("https://serah.id/L/SRHD1M743J0FY/1K1/TOOSHORT", "label_malformed"),
        ("https://serah.id/L/NOTANASSET/1K1/" + "A" * 103, "label_malformed"),
    ],
)
def test_unreadable_labels_are_refused_at_the_door(api: httpx.Client, label: str, code: str) -> None:
    r = api.post("/api/v1/scans/dispatch", json={"scan_id": str(uuid.uuid4()), "label": label})
    assert_problem(r, 422, code)


def test_a_scan_with_a_bad_scan_id_is_refused(api: httpx.Client, registered: tuple[str, str]) -> None:
    _, label = registered
    r = api.post("/api/v1/scans/dispatch", json={"scan_id": "../../etc", "label": label})
    assert_problem(r, 422, "invalid_request")


def test_unknown_laptops_and_routes_are_404(api: httpx.Client) -> None:
    assert_problem(api.get("/api/v1/laptops/SRH0000000000"), 404, "unknown_laptop")
    assert_problem(api.get("/api/v1/laptops/SRH0000000000/history"), 404, "unknown_laptop")
    assert_problem(api.get("/api/v1/laptops/not-an-id"), 422, "invalid_request")
    assert_problem(api.get("/api/v1/nothing-here"), 404, "not_found")


def test_an_unknown_office_is_refused_and_nothing_changes(api: httpx.Client, stack: Stack) -> None:
    asset = register(api)["subject"]
    settled(stack)
    before = (api.get(f"/api/v1/laptops/{asset}").json(), api.get(f"/api/v1/laptops/{asset}/history").json())
    r = api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "99.99"})
    assert_problem(r, 422, "unknown_office")
    settled(stack)
    view, history = api.get(f"/api/v1/laptops/{asset}").json(), api.get(f"/api/v1/laptops/{asset}/history").json()
    # the laptop is as it was; its view only counts one more refused attempt
    kept = lambda v: {k: x for k, x in v.items() if k not in ("rejections", "last_event_at")}  # noqa: E731
    assert kept(view) == kept(before[0]) and view["office_code"] is None
    assert view["rejections"] == before[0]["rejections"] + 1
    # the refused attempt is kept in the history, and it is the only thing added
    assert history["events"][: len(before[1]["events"])] == before[1]["events"]
    assert [(e["type"], e["data"].get("reason")) for e in history["events"][len(before[1]["events"]) :]] == [
        ("id.serah.command.rejected.v1", "unknown_office")
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/offices/99",
        "/api/v1/offices?province=abc",
        "/api/v1/scans/%00",
        "/api/v1/laptops/SRH0000000000/qr.png?scale=9999",
        "/L/x/y/z",
    ],
)
def test_hostile_queries_and_ids_on_reads_get_a_clear_4xx(api: httpx.Client, path: str) -> None:
    # Raw traversals and hostile bodies on every route: test_hostile_routes.py.
    r = api.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code)
