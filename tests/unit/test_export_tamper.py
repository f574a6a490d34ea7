"""Every change to an export is caught and named, whatever line and field it touches.

Generated tampering: for each line kind (header, checkpoint, event, chain list,
proof) and each field at any depth, a change, a deletion, a duplicate or a move
must turn the verdict from INTACT, and a finding must name the line or the chain
it touched. Both kinds of export are attacked: the full one (checked for every
chain the checkpoint signed) and one of a few chains with their inclusion proofs
(checked for the chains the person names)."""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import labels, proofs
from tests.audit_data import export_of, laptop_history

SEED = secrets.token_bytes(32)
KEYS = {"A9": labels.public_key(SEED)}
HISTORIES = [laptop_history("32.73", 5, location=(-6.91, 107.61)), laptop_history("74.05", 4), laptop_history("11", 3)]
ASSETS = sorted(a for a, _ in HISTORIES)
PICKED = sorted(a for a, _ in HISTORIES[:2])  # the 5- and 4-event chains: the same lines every run
OTHER = HISTORIES[2][0]
FULL = export_of(HISTORIES, SEED)
PART = export_of(HISTORIES, SEED, subjects=PICKED)


def verify_full(lines: list[Any]) -> proofs.Report:
    return proofs.verify_export(lines, KEYS)


def verify_part(lines: list[Any]) -> proofs.Report:
    return proofs.verify_export(lines, KEYS, PICKED)


EXPORTS: dict[str, tuple[list[dict[str, Any]], Callable[[list[Any]], proofs.Report]]] = {
    "full": (FULL, verify_full),
    "part": (PART, verify_part),
}


def sentences(report: proofs.Report) -> list[str]:
    return [f.sentence() for f in report.findings]


@pytest.mark.parametrize("name", EXPORTS)
def test_an_untouched_export_is_intact(name: str) -> None:
    lines, verify = EXPORTS[name]
    report = verify(copy.deepcopy(lines))
    assert report.intact, sentences(report)
    assert {x["kind"] for x in lines} == (
        {"header", "checkpoint", "event", "leaves"} if name == "full" else {"header", "checkpoint", "event", "proof"}
    )


# --- the generator -------------------------------------------------------------

Path = tuple[Any, ...]


def paths(node: Any, prefix: Path = ()) -> list[Path]:
    """Every place in a line: each dict key and list index, at any depth."""
    out: list[Path] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for k, v in items:
        out.append((*prefix, k))
        out += paths(v, (*prefix, k))
    return out


def get(node: Any, path: Path) -> Any:
    for k in path:
        node = node[k]
    return node


def near(value: Any) -> st.SearchStrategy[Any]:
    """Values a forger would try: one character or one unit off, another type of the same number."""
    if isinstance(value, bool):
        return st.sampled_from([not value, int(value), str(value).lower()])
    if isinstance(value, int):
        return st.sampled_from([value + 1, value - 1, float(value), str(value), True, None])
    if isinstance(value, str) and value:
        return st.integers(0, len(value) - 1).flatmap(
            lambda i: st.sampled_from(
                [
                    value[:i] + ("0" if value[i] != "0" else "1") + value[i + 1 :],
                    value[:i] + value[i].swapcase() + value[i + 1 :],
                    value[:i] + value[i + 1 :],
                    value + "=",
                    value[:i] + "!" + value[i:],
                ]
            )
        )
    return st.sampled_from([None, "", 0, [], {}])


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def same(a: Any, b: Any) -> bool:
    return orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


@dataclass
class Tamper:
    lines: list[Any]
    touched: set[int]  # 1-based line numbers in the tampered file
    subjects: set[str]  # chains of the lines touched
    what: str


def subject_of(line: Any) -> str | None:
    a = line.get("asset_id") if isinstance(line, dict) else None
    return a if isinstance(a, str) else None


@st.composite
def tampers(draw: st.DrawFn, original: list[dict[str, Any]], kinds: tuple[str, ...]) -> Tamper:
    lines = copy.deepcopy(original)
    candidates = [i for i, x in enumerate(lines) if x["kind"] in kinds]
    i = draw(st.sampled_from(candidates))
    line = lines[i]
    subjects = {s} if (s := subject_of(line)) else set()
    places = paths(line)
    lists = [p for p in places if isinstance(get(line, p), list) and get(line, p)]
    ops = ["change", "delete_field", "delete_line", "duplicate_line", "move_line"]
    ops += ["reorder_list", "duplicate_in_list"] if lists else []
    op = draw(st.sampled_from(ops))
    if op == "change":
        path = draw(st.sampled_from(places))
        old = get(line, path)
        new = draw((near(old) | JSON).filter(lambda v: not same(v, old)))
        get(line, path[:-1])[path[-1]] = new
        return Tamper(lines, {i + 1}, subjects, f"line {i + 1} {path} {old!r} -> {new!r}")
    if op == "delete_field":
        path = draw(st.sampled_from([p for p in places if isinstance(get(line, p[:-1]), dict)]))
        del get(line, path[:-1])[path[-1]]
        return Tamper(lines, {i + 1}, subjects, f"line {i + 1} without {path}")
    if op == "reorder_list":
        path = draw(st.sampled_from(lists))
        items = get(line, path)
        pairs = [(a, b) for a in range(len(items)) for b in range(a + 1, len(items)) if not same(items[a], items[b])]
        if not pairs:
            op = "duplicate_in_list"
        else:
            a, b = draw(st.sampled_from(pairs))
            items[a], items[b] = items[b], items[a]
            return Tamper(lines, {i + 1}, subjects, f"line {i + 1} {path}: items {a} and {b} swapped")
    if op == "duplicate_in_list":
        path = draw(st.sampled_from(lists))
        items = get(line, path)
        k = draw(st.integers(0, len(items) - 1))
        items.insert(draw(st.integers(0, len(items))), copy.deepcopy(items[k]))
        return Tamper(lines, {i + 1}, subjects, f"line {i + 1} {path}: item {k} twice")
    if op == "delete_line":
        del lines[i]
        return Tamper(lines, set(), subjects, f"line {i + 1} deleted")
    if op == "duplicate_line":
        j = draw(st.integers(0, len(lines)))
        lines.insert(j, copy.deepcopy(line))
        return Tamper(lines, {j + 1, i + 1 if i < j else i + 2}, subjects, f"line {i + 1} copied to {j + 1}")
    j = draw(st.sampled_from([k for k in range(len(lines)) if k != i]))
    lines[i], lines[j] = lines[j], lines[i]
    if (s := subject_of(lines[i])) is not None:
        subjects.add(s)
    return Tamper(lines, {i + 1, j + 1}, subjects, f"lines {i + 1} and {j + 1} swapped")


def assert_caught_and_named(t: Tamper, verify: Callable[[list[Any]], proofs.Report]) -> None:
    report = verify([orjson.loads(orjson.dumps(x)) for x in t.lines])  # as written to a file and read back
    assert not report.intact, f"INTACT after: {t.what}"
    assert all(f.sentence().strip() for f in report.findings)
    named = any(f.line in t.touched for f in report.findings) or any(f.asset_id in t.subjects for f in report.findings)
    if not t.subjects:  # a line of the whole export (header, checkpoint, chain list): an export-wide finding will do
        named = named or any(f.asset_id is None for f in report.findings)
    assert named, (t.what, sentences(report))


TAMPER_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", ["header", "checkpoint", "event", "leaves"])
@TAMPER_SETTINGS
@given(data=st.data())
def test_any_tamper_with_a_full_export_is_caught_and_named(kind: str, data: st.DataObject) -> None:
    assert_caught_and_named(data.draw(tampers(FULL, (kind,))), verify_full)


@pytest.mark.parametrize("kind", ["header", "checkpoint", "event", "proof"])
@TAMPER_SETTINGS
@given(data=st.data())
def test_any_tamper_with_an_export_of_named_chains_is_caught_and_named(kind: str, data: st.DataObject) -> None:
    assert_caught_and_named(data.draw(tampers(PART, (kind,))), verify_part)


# --- the cases an outside tester found, and their relatives ----------------------


def without(lines: list[dict[str, Any]], asset: str) -> list[dict[str, Any]]:
    return [x for x in copy.deepcopy(lines) if x.get("asset_id") != asset]


@pytest.mark.parametrize(
    "header_extra",
    [{}, {"scope": "laptop"}, {"scope": "all"}, {"latest_checkpoint": None}, {"exported_at": "2026-11-28"}],
)
def test_a_chain_deleted_from_a_full_export_is_named_whatever_the_header_says(header_extra: dict[str, Any]) -> None:
    victim = ASSETS[1]
    lines = without(FULL, victim)
    lines[0].update(header_extra)
    report = verify_full(lines)
    assert not report.intact
    missing = [f for f in report.findings if f.asset_id == victim]
    assert missing and "none of its events (deleted)" in missing[0].problem, sentences(report)
    if header_extra:  # a field Serah does not write is itself named
        assert any(f.line == 1 and "unexpected field" in f.problem for f in report.findings)


def test_a_chain_deleted_with_its_entry_in_the_chain_list_breaks_the_signed_list() -> None:
    victim = ASSETS[0]
    lines = without(FULL, victim)
    for x in lines:
        if x["kind"] == "leaves":
            x["leaves"] = [leaf for leaf in x["leaves"] if leaf[0] != victim]
    report = verify_full(lines)
    assert any("signed 3 chains, its list here has 2" in f.problem for f in report.findings), sentences(report)


def test_a_full_export_passed_off_as_proofs_for_the_chains_left_cannot_be_intact_unless_they_are_named() -> None:
    victim = ASSETS[2]
    forged = [x for x in without(FULL, victim) if x["kind"] != "leaves"]
    every_proof = [p for p in export_of(HISTORIES, SEED, subjects=ASSETS) if p["kind"] == "proof"]
    forged += [p for p in every_proof if p["asset_id"] != victim]
    report = verify_full(forged)
    assert not report.intact
    assert any("cannot show that none is missing" in f.problem for f in report.findings), sentences(report)


def test_one_chain_verifies_against_the_signed_root_with_its_inclusion_proof_alone() -> None:
    one = export_of(HISTORIES, SEED, subjects=[ASSETS[1]])
    report = proofs.verify_export(one, KEYS, [ASSETS[1]])
    assert report.intact and (report.laptops, report.checkpoint_chains) == (1, 3), sentences(report)


def test_a_named_chain_missing_from_an_export_of_named_chains_is_named() -> None:
    report = proofs.verify_export(PART, KEYS, [*PICKED, OTHER])
    assert [(f.asset_id, f.problem) for f in report.findings] == [
        (OTHER, "you asked to verify this chain, but the export has none of its events")
    ]


def test_a_signature_with_spare_bits_or_stray_characters_is_not_the_signature() -> None:
    cp = next(x for x in FULL if x["kind"] == "checkpoint")
    assert proofs.checkpoint_signature_ok(cp, KEYS) is None
    raw = proofs.unb64(cp["signature"])
    spare = proofs.b64(raw)[:-1] + chr(ord(proofs.b64(raw)[-1]) + 1)  # the last character's unused bits
    assert proofs.unb64(spare) == raw
    for sig in (spare, cp["signature"][:5] + "!" + cp["signature"][5:]):
        assert proofs.checkpoint_signature_ok({**cp, "signature": sig}, KEYS) is not None


# --- the verdict a live history carries -------------------------------------------


def chain_lines(asset: str) -> list[dict[str, Any]]:
    return [x for x in copy.deepcopy(FULL) if x["kind"] == "event" and x["asset_id"] == asset]


def live(asset: str, links: list[dict[str, Any]], keys: dict[str, bytes] = KEYS) -> proofs.ChainVerdict:
    cp = next(x for x in FULL if x["kind"] == "checkpoint")
    leaves = [leaf for x in FULL if x["kind"] == "leaves" for leaf in x["leaves"]]
    return proofs.chain_verdict(asset, links, cp, proofs.ProofIndex(cp["checkpoint_id"], leaves), keys)


def test_an_untouched_chain_is_verified_and_signed_to_its_head() -> None:
    a = ASSETS[0]
    v = live(a, chain_lines(a))
    assert (v.status, v.signed_to_seq, v.reason) == ("verified", len(chain_lines(a)), None)


@given(data=st.data())
@settings(max_examples=100, deadline=None)
def test_a_changed_deleted_or_moved_event_breaks_the_verdict_at_that_event(data: st.DataObject) -> None:
    a = data.draw(st.sampled_from(ASSETS))
    links = chain_lines(a)
    k = data.draw(st.integers(0, len(links) - 1))
    op = data.draw(st.sampled_from(["change", "delete", "swap"] if k + 1 < len(links) else ["change", "delete"]))
    if op == "change":
        path = data.draw(st.sampled_from([p for p in paths(links[k]["event"])]))
        old = get(links[k]["event"], path)
        get(links[k]["event"], path[:-1])[path[-1]] = data.draw(near(old).filter(lambda v: not same(v, old)))
    elif op == "delete":
        del links[k]
    else:
        links[k], links[k + 1] = links[k + 1], links[k]
    v = live(a, links)
    assert v.status == "broken" and v.reason and a in v.reason
    assert v.broken_at_seq == k + 1, v  # the (k+1)-th link read, or where the deleted last one stood
    assert not v.verified_at(k + 1) and all(v.verified_at(s) for s in range(1, k + 1))


def test_a_history_rewritten_with_recomputed_hashes_is_not_the_one_the_checkpoint_signed() -> None:
    a = ASSETS[0]
    links = chain_lines(a)
    links[1]["event"]["actor"] = "rewriter"  # every event here was made by "tester"
    prev = links[0]["hash"]
    for link in links[1:]:  # a forger with the store recomputes every later hash
        link["prev_hash"], link["hash"] = prev, proofs.link_hash_of(prev, link["event"])
        prev = link["hash"]
    v = live(a, links)
    assert v.status == "broken" and "not the head checkpoint" in (v.reason or "")


def test_events_after_the_checkpoint_verify_and_are_not_yet_signed() -> None:
    a = ASSETS[2]
    links = chain_lines(a)
    extra = {**links[-1]["event"], "id": "after-the-checkpoint"}
    links.append(
        {
            "kind": "event",
            "asset_id": a,
            "seq": len(links) + 1,
            "prev_hash": links[-1]["hash"],
            "hash": proofs.link_hash_of(links[-1]["hash"], extra),
            "event": extra,
        }
    )
    v = live(a, links)
    assert (v.status, v.signed_to_seq) == ("verified", len(links) - 1)


def test_a_checkpoint_no_trusted_key_signed_vouches_for_nothing() -> None:
    a = ASSETS[1]
    other = {"A9": labels.public_key(secrets.token_bytes(32))}
    assert live(a, chain_lines(a), other).status == "broken"
    assert (live(a, chain_lines(a), {}).status, live(a, chain_lines(a), {}).signed_to_seq) == ("verified", 0)


# --- every field of every line, one by one (the generator above samples; this enumerates) ---


def field_cases() -> list[tuple[str, int, str]]:
    return [(name, i, f) for name, (lines, _) in EXPORTS.items() for i, line in enumerate(lines) for f in sorted(line)]


def nudged(value: Any) -> Any:
    """A small change of the same type where one exists: the hardest kind to see."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1")
    if isinstance(value, list):
        return value[:-1] if value else [None]
    return {**value, "x": 1}


@pytest.mark.parametrize(("name", "i", "field"), field_cases())
def test_every_field_of_every_line_changed_or_deleted_is_caught_and_named(name: str, i: int, field: str) -> None:
    original, verify = EXPORTS[name]
    subjects = {s} if (s := subject_of(original[i])) else set()
    changed = copy.deepcopy(original)
    changed[i][field] = nudged(changed[i][field])
    assert_caught_and_named(Tamper(changed, {i + 1}, subjects, f"{name} line {i + 1} {field} nudged"), verify)
    deleted = copy.deepcopy(original)
    del deleted[i][field]
    assert_caught_and_named(Tamper(deleted, {i + 1}, subjects, f"{name} line {i + 1} without {field}"), verify)


@pytest.mark.parametrize(("name", "i"), [(n, i) for n, (lines, _) in EXPORTS.items() for i in range(len(lines))])
def test_every_line_deleted_or_repeated_is_caught_and_named(name: str, i: int) -> None:
    original, verify = EXPORTS[name]
    subjects = {s} if (s := subject_of(original[i])) else set()
    gone = [x for k, x in enumerate(copy.deepcopy(original)) if k != i]
    assert_caught_and_named(Tamper(gone, set(), subjects, f"{name} line {i + 1} deleted"), verify)
    twice = copy.deepcopy(original)
    twice.insert(i + 1, copy.deepcopy(original[i]))
    assert_caught_and_named(Tamper(twice, {i + 2}, subjects, f"{name} line {i + 1} repeated"), verify)


# --- serah verify: the scope is the person's, the checkpoint may come from elsewhere ---


def cli(tmp_path: Any, lines: list[dict[str, Any]], *args: str) -> Any:
    from typer.testing import CliRunner

    from services.cli.main import app

    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return CliRunner().invoke(app, ["verify", str(path), f"--key=A9:{proofs.b64(KEYS['A9'])}", *args])


def test_serah_verify_names_the_scope_it_proved(tmp_path: Any) -> None:
    whole = cli(tmp_path, FULL)
    assert whole.exit_code == 0 and "every chain the checkpoint signed is here" in whole.output, whole.output
    named = cli(tmp_path, PART, *(f"--subject={a}" for a in PICKED))
    assert named.exit_code == 0 and "the 2 chains you named (and only those)" in named.output, named.output
    unnamed = cli(tmp_path, PART)
    assert unnamed.exit_code == 1 and "--subject" in unnamed.output, unnamed.output


def test_serah_verify_checks_against_a_checkpoint_obtained_elsewhere(tmp_path: Any) -> None:
    cp = {k: v for k, v in next(x for x in FULL if x["kind"] == "checkpoint").items() if k != "kind"}
    as_event = tmp_path / "cp.json"
    as_event.write_bytes(orjson.dumps({"type": "id.serah.audit.checkpoint-signed.v1", "data": cp}))
    same_one = cli(tmp_path, FULL, f"--checkpoint={as_event}")
    assert same_one.exit_code == 0, same_one.output
    newer = export_of(HISTORIES[:2], SEED, checkpoint_id="cp-20261129T000000000000Z")  # signed over other heads
    other = {k: v for k, v in next(x for x in newer if x["kind"] == "checkpoint").items() if k != "kind"}
    as_event.write_bytes(orjson.dumps(other))
    against_other = cli(tmp_path, FULL, f"--checkpoint={as_event}")
    assert against_other.exit_code == 1 and "cp-20261129T000000000000Z" in against_other.output, against_other.output


def test_serah_verify_refuses_a_checkpoint_file_that_is_not_one(tmp_path: Any) -> None:
    bad = tmp_path / "cp.json"
    for content in (b"[1, 2]", b"not json", b'{"data": "x"}'):
        bad.write_bytes(content)
        out = cli(tmp_path, FULL, f"--checkpoint={bad}")
        assert out.exit_code == 2 and "is not a checkpoint" in out.output, out.output
