"""An office's (a consignment's, an import batch's) labels come a page at a time, in
asset-id order, the next page named by the response's ``Link`` header; labels asked
for by asset id come all at once. In-process, with views behind the gateway's port
that answer the store's query forms (the real store: tests/e2e/test_label_sheets.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from events.catalog import RejectionReason
from tests.builders import new_asset
from tests.gateway_fakes import EmptyReads, client, rejecting


class OfficeViews(EmptyReads):
    """Laptop views queried as ReadModels.label_views queries the store."""

    def __init__(self, views: list[dict[str, Any]]) -> None:
        self.views = views
        self.asked: list[dict[str, Any]] = []

    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        self.asked.append(query)

        def matches(v: dict[str, Any]) -> bool:
            for key, want in query.items():
                if key == "_id" and "$in" in want:
                    if v["_id"] not in want["$in"]:
                        return False
                elif key == "_id":
                    if not v["_id"] > want["$gt"]:
                        return False
                elif v.get(key) != want:
                    return False
            return True

        return sorted((v for v in self.views if matches(v)), key=lambda v: v["_id"])[:limit]


def laptops(office: str, n: int) -> list[dict[str, Any]]:
    return [
        {"_id": new_asset()[1], "office_code": office, "serial": f"S{i}", "label_generation": 1, "label_key_id": "K1"}
        for i in range(n)
    ]


def pages(views: OfficeViews, params: dict[str, Any]) -> list[list[str]]:
    async def run() -> list[list[str]]:
        out = []
        async with client(rejecting(RejectionReason.INVALID_COMMAND), reads=views) as api:
            r = await api.get("/api/v1/labels", params=params)
            while True:
                assert r.status_code == 200, r.text
                out.append([x["asset_id"] for x in r.json()])
                if "next" not in r.links:
                    return out
                r = await api.get(r.links["next"]["url"])

    return asyncio.run(run())


def test_an_office_s_labels_come_a_hundred_at_a_time_in_asset_id_order_until_the_last_page() -> None:
    mine, other = laptops("32.73", 250), laptops("73.71", 30)
    views = OfficeViews(mine + other)
    got = pages(views, {"office_code": "32.73"})
    assert [len(p) for p in got] == [100, 100, 50]
    assert [a for p in got for a in p] == sorted(v["_id"] for v in mine)
    # Each page asks the store for one more than it shows, after the last one shown.
    assert [q["_id"]["$gt"] for q in views.asked] == ["", got[0][-1], got[1][-1]]


def test_a_page_ends_the_list_when_it_holds_exactly_what_is_left_and_a_limit_sets_the_page_size() -> None:
    mine = laptops("32.73", 20)
    assert [len(p) for p in pages(OfficeViews(mine), {"office_code": "32.73", "limit": 10})] == [10, 10]
    assert [len(p) for p in pages(OfficeViews(mine), {"office_code": "32.73", "limit": 7})] == [7, 7, 6]


def test_labels_asked_for_by_asset_id_come_all_at_once_in_the_order_asked() -> None:
    mine = laptops("32.73", 150)
    wanted = [v["_id"] for v in reversed(mine)]

    async def run() -> httpx.Response:
        async with client(rejecting(RejectionReason.INVALID_COMMAND), reads=OfficeViews(mine)) as api:
            return await api.get("/api/v1/labels", params={"asset_id": wanted})

    r = asyncio.run(run())
    assert r.status_code == 200 and "next" not in r.links
    assert [x["asset_id"] for x in r.json()] == wanted
