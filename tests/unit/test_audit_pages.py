"""The auditor's pages, in-process: every anomaly rule the audit raises has a name on
the page, and the pages' refusals are pages."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from services.gateway.auth.model import Grant, Role
from services.gateway.web.audit import RULES
from tests.gateway_fakes import client, rejecting

AUDIT = Path(__file__).resolve().parents[2] / "services" / "audit"


def test_every_rule_the_audit_raises_has_a_name_in_both_languages() -> None:
    raised = {
        code
        for source in AUDIT.rglob("*.py")
        for code in re.findall(r'Anomaly\(\s*"([a-z_]+)"', source.read_text(encoding="utf-8"))
    }
    assert raised and raised <= set(RULES), raised - set(RULES)
    assert all(id_ and en and id_ != en for id_, en in RULES.values())


def test_an_auditor_page_with_a_bad_filter_is_refused_and_an_empty_store_reads_as_nothing_yet() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.AUDITOR),)) as desk:
            empty = await desk.get("/audit")
            assert empty.status_code == 200 and "Belum ada laptop." in empty.text
            assert 'data-total="received">0<' in empty.text
            bad = await desk.get("/audit/anomali", params={"province": "7"})
            assert bad.status_code == 422
            blank = await desk.get("/audit/anomali", params={"rule": "", "province": "", "office": ""})
            assert blank.status_code == 200 and 'id="anomalies"' in blank.text  # a form's empty fields
            unknown = await desk.get("/audit/laptop/SRHPPSKGESNAC")
            assert unknown.status_code == 404 and 'data-refusal="unknown_laptop"' in unknown.text
            found = await desk.get("/audit/laptop", params={"asset_id": " srhppskgesnac "})
            assert found.status_code == 303 and found.headers["location"] == "/audit/laptop/SRHPPSKGESNAC"

    asyncio.run(go())


def test_every_event_of_the_contract_has_a_name_on_a_laptops_page() -> None:
    from events.catalog import EVENTS
    from services.gateway.web.audit import EVENTS as NAMED

    assert {cls.TYPE for cls in EVENTS} <= set(NAMED), {cls.TYPE for cls in EVENTS} - set(NAMED)
