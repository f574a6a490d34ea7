"""Receipt codes: long enough, typed as people type them and nothing else, and kept
only as a keyed hash that names its key, so a stolen log or export reveals no code
and keys can be rotated. The gateway and handover hold the key and do not start
without it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from events import codec, labels, receipt_codes
from events.catalog import ConsignmentPlanned, PlanConsignment, ReceiptCodeReissued
from events.envelope import Envelope
from services.gateway import bootstrap as gateway_bootstrap
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.decisions import new_receipt_code
from services.handover.config import HandoverSettings
from services.handover.stream import build_app as handover_app
from tests.builders import NOW, OFFICIAL, RECEIPT_CODE, RECEIPT_CODE_KEYS, SHOWN_CODE, confirm_receipt
from tests.fakes import FakeBastStore, FakeHeldReceipts, FakePublisher, FakeStreamStore
from tests.gateway_fakes import EmptyReads, client
from tests.unit.test_manifest_pdf import text_of
from tests.unit.test_receipts import World, reason

K1, K2 = secrets.token_bytes(32), secrets.token_bytes(32)
CODE = "K7Q2-M9XP-4RTW-HN3C"
codes = st.text(alphabet=receipt_codes.ALPHABET, min_size=receipt_codes.LENGTH, max_size=receipt_codes.LENGTH)


def spellings(code: str) -> st.SearchStrategy[str]:
    """Every way a person may type ``code``: grouped or not, any case, spaces around."""
    return st.tuples(
        st.booleans(), st.lists(st.booleans(), min_size=len(code), max_size=len(code)), st.sampled_from(["", " ", "\t"])
    ).map(lambda t: _spell(code, *t))


def _spell(code: str, dashes: bool, lower: list[bool], pad: str) -> str:
    text = "".join(c.lower() if low else c for c, low in zip(code, lower, strict=True))
    return pad + (receipt_codes.grouped(text) if dashes else text) + pad


# --- the code ----------------------------------------------------------------------


def test_a_new_code_has_at_least_60_bits_and_is_shown_in_groups_of_the_unambiguous_alphabet() -> None:
    assert receipt_codes.LENGTH * math.log2(len(receipt_codes.ALPHABET)) >= 60
    assert not set("0O1IL") & set(receipt_codes.ALPHABET)
    shown = [new_receipt_code(RECEIPT_CODE_KEYS)[0] for _ in range(200)]
    assert all(SHOWN_CODE.fullmatch(c) for c in shown), shown[:3]
    assert len(set(shown)) == len(shown)


def test_a_new_code_travels_only_as_its_keyed_hash_under_the_first_key() -> None:
    code, stored = new_receipt_code({"R2": K2, "R1": K1})
    assert stored.startswith("hmac-sha256:R2:") and re.fullmatch(receipt_codes.HASH_PATTERN, stored)
    assert receipt_codes.matches({"R2": K2}, code, stored)
    assert code.replace("-", "") not in stored


@given(codes.flatmap(lambda c: st.tuples(st.just(c), spellings(c))))
def test_a_code_is_accepted_grouped_or_not_in_any_case_with_spaces_around(code_and_typed: tuple[str, str]) -> None:
    code, typed = code_and_typed
    assert receipt_codes.normalise(typed) == code
    assert receipt_codes.matches({"R1": K1}, typed, receipt_codes.mac({"R1": K1}, code))


@pytest.mark.parametrize(
    "typed",
    [
        "K7Q2M9XP",  # the short codes of before
        "K7Q2-M9XP-4RTW",
        "K7Q2-M9XP-4RTW-HN3CA",
        "K7Q2 M9XP 4RTW HN3C",  # only dashes separate groups
        "K7Q-2M9XP-4RTW-HN3C",  # dashes only between groups
        "K7Q2--M9XP-4RTW-HN3C",
        "-K7Q2M9XP4RTWHN3C",
        "K7Q2-M9XP4RTWHN3C",  # all dashes or none
        "K7Q2-M9XP-4RTW-HN30",  # 0, O, 1, I and L are never in a code
        "K7Q2-M9XP-4RTW-HN3O",
        "K7Q2-M9XP-4RTW-HN31",
        "K7Q2-M9XP-4RTW-HN3I",
        "K7Q2-M9XP-4RTW-HN3L",
        "K7Q2-M9XP-4RTW-HN3\u0131",  # dotless i upper-cases to I
        "\u017f7Q2-M9XP-4RTW-HN3C",  # long s upper-cases to S
        "\u212a7Q2-M9XP-4RTW-HN3C",  # the Kelvin sign lower-cases to k
        "K7Q2\u2010M9XP\u20104RTW\u2010HN3C",  # a Unicode hyphen
        "\uff2b7Q2-M9XP-4RTW-HN3C",  # a full-width K
        "",
    ],
)
def test_nothing_else_is_a_code(typed: str) -> None:
    assert receipt_codes.normalise(typed) is None
    assert not receipt_codes.matches({"R1": K1}, typed, receipt_codes.mac({"R1": K1}, CODE))


# --- the keyed hash ----------------------------------------------------------------


def test_a_code_checks_under_its_key_and_still_after_the_ring_is_rotated() -> None:
    stored = receipt_codes.mac({"R1": K1}, CODE)
    assert receipt_codes.matches({"R1": K1}, CODE, stored)
    rotated = {"R2": K2, "R1": K1}  # a new key first: it hashes new codes, the old one still checks
    assert receipt_codes.matches(rotated, CODE, stored)
    assert receipt_codes.mac(rotated, CODE).startswith("hmac-sha256:R2:")
    assert receipt_codes.matches(rotated, CODE, receipt_codes.mac(rotated, CODE))


@given(codes, codes)
def test_a_wrong_code_or_a_wrong_key_does_not_check(code: str, other: str) -> None:
    stored = receipt_codes.mac({"R1": K1}, code)
    assert receipt_codes.matches({"R1": K1}, other, stored) == (other == code)
    assert not receipt_codes.matches({"R1": K2}, code, stored)  # same id, another key
    assert not receipt_codes.matches({"R2": K1}, code, stored)  # the ring no longer holds R1
    assert not receipt_codes.matches({}, code, stored)


@pytest.mark.parametrize(
    "stored",
    [
        hashlib.sha256(CODE.replace("-", "").encode()).hexdigest(),  # the unkeyed form is not a stored code
        "hmac-sha256:R1:" + "0" * 63,
        "hmac-sha256:r1:" + "0" * 64,
        "hmac-sha1:R1:" + "0" * 64,
        "hmac-sha256:R1:" + "0" * 64 + "\n",
    ],
)
def test_a_value_not_of_the_stored_form_checks_nothing(stored: str) -> None:
    assert receipt_codes.key_id(stored) is None
    assert not receipt_codes.matches({"R1": K1}, CODE, stored)


def test_the_stored_value_reveals_nothing_without_the_key() -> None:
    """Whoever has the log tries every candidate the old way (unsalted SHA-256, as
    typed, grouped, lower case) and with keys anyone could guess: the real code is
    among the candidates and still nothing matches."""
    stored = receipt_codes.mac({"R1": K1}, CODE)
    digest = stored.rsplit(":", 1)[1]
    candidates = [CODE, CODE.replace("-", ""), CODE.lower(), *(new_receipt_code({"R1": K1})[0] for _ in range(1000))]
    guessed_keys = [b"", b"\0" * 32, b"R1", b"serah", K2]
    for c in candidates:
        for spelt in {c, c.replace("-", ""), c.lower(), c.replace("-", "").lower()}:
            assert hashlib.sha256(spelt.encode()).hexdigest() != digest
            assert all(hmac.new(k, spelt.encode(), hashlib.sha256).hexdigest() != digest for k in guessed_keys)
    assert CODE.replace("-", "") not in stored and CODE not in stored


def test_every_event_with_a_receipt_code_carries_only_the_keyed_form() -> None:
    for cls in (PlanConsignment, ConsignmentPlanned, ReceiptCodeReissued):
        prop = cls.model_json_schema()["properties"]["receipt_code_hash"]
        assert prop["pattern"] == receipt_codes.HASH_PATTERN and "HMAC" in prop["description"], cls
    with pytest.raises(ValueError, match="receipt_code_hash"):
        ReceiptCodeReissued(receipt_code_hash=hashlib.sha256(b"K7Q2M9XP").hexdigest(), reason="x", generation=2)


# --- where codes are checked ---------------------------------------------------------


def test_handover_confirms_a_receipt_with_the_code_as_typed_and_refuses_a_wrong_one() -> None:
    w = World()
    a, b = w.dispatched(2)
    other = "K7Q2-M9XP-4RTW-HN3D"  # one character off
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[b], code=other))) == "receipt_code_invalid"
    typed = RECEIPT_CODE.replace("-", "").lower()
    assert w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[b], code=typed)).data["seq"] == 1


def test_handover_says_so_when_a_code_was_hashed_with_a_key_it_no_longer_holds() -> None:
    w = World()
    (a,) = w.dispatched(1)
    w.hand.receipt_code_keys = {"R9": K2}  # the ring was rotated and R1 dropped
    refused = w.confirm(confirm_receipt("C-1", [(a, "B", "")]))
    assert reason(refused) == "receipt_code_invalid"
    assert "key R1" in refused.data["detail"] and "new code" in refused.data["detail"]


class Planned(EmptyReads):
    def __init__(self) -> None:
        self.stored: str | None = None

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        if self.stored is None:
            return None
        return {
            "office_code": "73.71",
            "office_name": "Kesbangpol Kota Makassar",
            "officials": [OFFICIAL],
            "legal_basis": {"kind": "contract", "number": "K-9", "date": "2026-11-02"},
            "expected": [],
            "receipt_code_hash": self.stored,
        }


def accepting(command: Envelope) -> Envelope:
    """A deciding service that accepts a plan or a re-issue with the hash it was sent."""
    data = command.data
    fact = (
        ConsignmentPlanned(**{**data, "office_name": "Kesbangpol Kota Makassar"})
        if command.type == PlanConsignment.TYPE
        else ReceiptCodeReissued(receipt_code_hash=data["receipt_code_hash"], reason=data["reason"], generation=2)
    )
    return codec.make(
        fact, subject=command.subject, source="/test", time=NOW, id=f"e-{command.id}", causation_id=command.id
    )


def test_the_gateway_shows_a_code_once_sends_only_its_hash_and_prints_it_grouped_as_typed_any_way() -> None:
    views = Planned()
    plan = {
        "consignment_id": "C-9",
        "office_code": "73.71",
        "officials": [OFFICIAL],
        "legal_basis": {"kind": "contract", "number": "K-9", "date": "2026-11-02"},
        "expected_count": 3,
    }

    async def run() -> tuple[list[httpx.Response], list[Envelope]]:
        async with client(accepting, consignments=views) as api:
            planned = await api.post("/api/v1/consignments", json=plan)
            views.stored = api.gateway.bus.sent[-1].data["receipt_code_hash"]  # type: ignore[attr-defined]
            code = planned.json()["receipt_code"]
            typed = code.replace("-", "").lower()
            printed = await api.post("/api/v1/consignments/C-9/manifest.pdf", json={"receipt_code": typed})
            wrong = await api.post("/api/v1/consignments/C-9/manifest.pdf", json={"receipt_code": CODE})
            reissued = await api.post("/api/v1/consignments/C-9/receipt-code", json={"request_id": "r", "reason": "x"})
            return [planned, printed, wrong, reissued], list(api.gateway.bus.sent)  # type: ignore[attr-defined]

    (planned, printed, wrong, reissued), sent = asyncio.run(run())
    code = planned.json()["receipt_code"]
    assert planned.status_code == 201 and SHOWN_CODE.fullmatch(code), planned.text
    for command, shown in zip(sent, (code, reissued.json()["receipt_code"]), strict=True):
        assert receipt_codes.matches(RECEIPT_CODE_KEYS, shown, command.data["receipt_code_hash"])
        assert shown.replace("-", "") not in codec.encode(command).decode()
    assert printed.status_code == 200 and code in text_of(printed.content)
    assert (wrong.status_code, wrong.json()["code"]) == (403, "receipt_code_invalid")


# --- the key -------------------------------------------------------------------------


def test_the_gateway_does_not_start_without_a_receipt_code_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERAH_RECEIPT_CODE_KEYS", raising=False)
    seed = labels.format_keyring({"K1": K1})
    settings = GatewaySettings(label_signing_keys=SecretStr(seed), kafka_bootstrap="127.0.0.1:9")
    with pytest.raises(ValueError, match="set SERAH_RECEIPT_CODE_KEYS"):
        gateway_bootstrap.bootstrap(settings)
    with pytest.raises(ValueError, match="set SERAH_RECEIPT_CODE_KEYS"), TestClient(create_app(settings)):
        pass


def test_handover_does_not_start_without_a_receipt_code_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.handover.bootstrap import bootstrap

    monkeypatch.setenv("SERAH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SERAH_RECEIPT_CODE_KEYS", raising=False)
    with pytest.raises(ValueError, match="set SERAH_RECEIPT_CODE_KEYS"):
        handover_app(HandoverSettings())
    with pytest.raises(ValueError, match="set SERAH_RECEIPT_CODE_KEYS"):
        bootstrap(
            HandoverSettings(),
            publisher=FakePublisher(),
            laptops=FakeStreamStore(),
            consignments=FakeStreamStore(),
            basts=FakeBastStore(),
            held=FakeHeldReceipts(),
            documents=FakeBastStore(),
            rosters=FakeStreamStore(),
        )


def test_a_malformed_key_ring_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="SERAH_RECEIPT_CODE_KEYS is not a key ring"):
        HandoverSettings(receipt_code_keys=SecretStr("R1:c2hvcnQ")).receipt_code_keyring()
    ring = HandoverSettings(receipt_code_keys=SecretStr(labels.format_keyring({"R2": K2, "R1": K1})))
    assert list(ring.receipt_code_keyring()) == ["R2", "R1"]
