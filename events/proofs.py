"""Tamper evidence an auditor can check without trusting the server.

Pure code (stdlib, orjson, cryptography): the audit service uses it to build
chains and checkpoints, ``serah verify`` uses the same functions offline.

Hash chain (one per subject: a laptop or a consignment)
    link_hash = SHA-256( bytes.fromhex(prev_hash) || canonical(event) )
    canonical(event) = the CloudEvent as JSON, keys sorted at every level, no
    whitespace, UTF-8 (not ASCII-escaped), time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
    (Python: ``json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``).
    The first link's prev_hash is 64 zeros; seq counts from 1 without gaps.

Checkpoint (a signed Merkle root over every chain's head)
    leaf  = SHA-256( 0x00 || "<asset_id>|<seq>|<head hash hex>" )
    node  = SHA-256( 0x01 || left || right )
    Leaves are ordered by asset id; each level pairs neighbours left to right,
    an odd last node is promoted unchanged. The 0x00/0x01 prefixes (as in
    RFC 6962) stop an inner node from being passed off as a leaf. An empty tree's
    root is SHA-256 of nothing.
    signed message = "SERAH-CHECKPOINT1|<checkpoint_id>|<created_at>|<laptops>|<root hex>"
    signature = Ed25519 over that message (base64url, no padding), key named by key_id.

Inclusion proof of one chain's head
    {"seq": s, "head": h, "path": [{"side": "L"|"R", "hash": hex}, …]}
    Start from leaf(asset, s, h); for each step, hash with the sibling on the
    given side; the result must equal the checkpoint's root.

Export (JSON Lines; docs/audit-export.md): a header, the checkpoint, every
event, then either the checkpoint's whole chain list (a full export: whoever
verifies it can name every chain missing from it) or one inclusion proof per
chain (an export of a few chains, verified by naming them).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
EXPORT_FORMAT = "serah-export/2"


def canonical_json(event: Mapping[str, Any]) -> bytes:
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def link_hash_of(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(event)).hexdigest()


def leaf_hash(asset_id: str, seq: int, head: str) -> bytes:
    return hashlib.sha256(b"\x00" + f"{asset_id}|{seq}|{head}".encode()).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, root last."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        prev = levels[-1]
        nxt = [_node(prev[i], prev[i + 1]) for i in range(0, len(prev) - 1, 2)]
        if len(prev) % 2:
            nxt.append(prev[-1])  # odd node promoted
        levels.append(nxt)
    return levels


def merkle_root(leaves: Sequence[bytes]) -> str:
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    return merkle_levels(leaves)[-1][0].hex()


def inclusion_path(levels: list[list[bytes]], index: int) -> list[dict[str, str]]:
    path = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path.append({"side": "L" if sibling < index else "R", "hash": level[sibling].hex()})
        index //= 2
    return path


def root_from_path(leaf: bytes, path: Iterable[Mapping[str, str]]) -> str:
    node = leaf
    for step in path:
        sibling = bytes.fromhex(step["hash"])
        node = _node(sibling, node) if step["side"] == "L" else _node(node, sibling)
    return node.hex()


def checkpoint_message(checkpoint_id: str, created_at: str, laptops: int, root: str) -> bytes:
    return f"SERAH-CHECKPOINT1|{checkpoint_id}|{created_at}|{laptops}|{root}".encode()


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_checkpoint(seed: bytes, checkpoint_id: str, created_at: str, laptops: int, root: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return b64(key.sign(checkpoint_message(checkpoint_id, created_at, laptops, root)))


def checkpoint_signature_ok(checkpoint: Mapping[str, Any], public_keys: Mapping[str, bytes]) -> str | None:
    """None if a trusted key signed this checkpoint, else what is wrong."""
    kid = checkpoint.get("key_id")
    key = public_keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        return f"signed with key {checkpoint.get('key_id')!r}, which you did not give as trusted"
    cid, at, n, root, sig = (checkpoint.get(k) for k in ("checkpoint_id", "created_at", "laptops", "root", "signature"))
    # Exact types: "3" or 3.0 for 3 would sign the same message and still be a change.
    if not (
        isinstance(cid, str)
        and isinstance(at, str)
        and isinstance(sig, str)
        and isinstance(n, int)
        and not isinstance(n, bool)
        and isinstance(root, str)
        and _is_hash(root)
    ):
        return "is incomplete or malformed"
    try:
        raw = unb64(sig)
        if b64(raw) != sig:  # the decoder skips stray characters and spare bits: only one spelling is the signature
            return "has a signature that is not in canonical base64url"
        Ed25519PublicKey.from_public_bytes(key).verify(raw, checkpoint_message(cid, at, n, root))
    except (ValueError, TypeError):
        return "is incomplete or malformed"
    except InvalidSignature:
        return "has a signature that does not match its content"
    return None


# --- verification of an export ------------------------------------------------

# The exact fields of each line kind: a field added or removed is damage, not noise.
LINE_FIELDS: dict[str, frozenset[str]] = {
    "header": frozenset({"kind", "format"}),
    "checkpoint": frozenset({"kind", "checkpoint_id", "created_at", "laptops", "root", "key_id", "signature"}),
    "event": frozenset({"kind", "asset_id", "seq", "prev_hash", "hash", "event"}),
    "leaves": frozenset({"kind", "checkpoint_id", "leaves"}),
    "proof": frozenset({"kind", "asset_id", "checkpoint_id", "seq", "head", "path"}),
}


# What each field must be. A value of another type is damage even where it would
# compare equal (true for 1, 1.0 for 1) or decode the same.
def _text(x: Any) -> bool:
    return isinstance(x, str) and x != ""


FIELD_TYPES: dict[str, Callable[[Any], bool]] = {
    "kind": _text,
    "format": _text,
    "checkpoint_id": _text,
    "created_at": _text,
    "laptops": lambda x: type(x) is int and x >= 0,
    "root": lambda x: _is_hash(x),
    "key_id": _text,
    "signature": _text,
    "asset_id": _text,
    "seq": lambda x: _is_seq(x),
    "prev_hash": lambda x: _is_hash(x),
    "hash": lambda x: _is_hash(x),
    "head": lambda x: _is_hash(x),
    "event": lambda x: isinstance(x, dict),
    "leaves": lambda x: isinstance(x, list),
    "path": lambda x: isinstance(x, list),
}
# Serah writes the kinds in this order; a line standing elsewhere was moved.
LINE_RANK = {"header": 0, "checkpoint": 1, "event": 2, "leaves": 3, "proof": 3}
LEAVES_PER_LINE = 5000


@dataclass(frozen=True)
class Finding:
    """One piece of damage: which chain, which event or line (if one can be named), what."""

    asset_id: str | None
    event_id: str | None
    seq: int | None
    problem: str
    line: int | None = None

    def sentence(self) -> str:
        where = f"chain {self.asset_id}" if self.asset_id else "export"
        if self.event_id:
            where += f", event {self.event_id} (seq {self.seq})"
        elif self.seq is not None:
            where += f", at seq {self.seq}"
        if self.line is not None:
            where += f", line {self.line}"
        return f"{where}: {self.problem}"


@dataclass
class Report:
    laptops: int = 0  # chains in the export (laptops and consignments)
    events: int = 0
    checkpoints: int = 0
    latest_checkpoint: str | None = None
    checkpoint_created_at: str | None = None
    checkpoint_chains: int | None = None  # how many chains the checkpoint signed
    subjects: list[str] | None = None  # None: every chain the checkpoint signed; else the ones the person named
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


def _is_hash(x: Any) -> bool:
    return isinstance(x, str) and len(x) == 64 and all(c in "0123456789abcdef" for c in x)


def _is_seq(x: Any) -> bool:
    return type(x) is int and x >= 1  # bool is not a sequence number, nor 1.0


def verify_chain(asset_id: str, links: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Links in file order. Reports the first break and stops: after it, every
    later hash is meaningless."""
    found = _first_break(asset_id, links)
    return [found[1]] if found else []


def _first_break(asset_id: str, links: Sequence[Mapping[str, Any]]) -> tuple[int, Finding] | None:
    """(position from 1, what is wrong there) of the first link that does not verify."""
    prev = GENESIS
    for expected_seq, link in enumerate(links, start=1):
        event = link.get("event")
        eid = event.get("id") if isinstance(event, dict) else None
        seq = link.get("seq")
        if type(seq) is not int or seq != expected_seq:
            what = "is missing or out of order" if type(seq) is int else "has no sequence number"
            problem = f"expected seq {expected_seq} here: an event {what} (deleted or reordered)"
            return expected_seq, Finding(asset_id, eid, seq, problem)
        if not isinstance(event, dict) or event.get("subject") != asset_id:
            return expected_seq, Finding(asset_id, eid, seq, "the event does not belong to this chain")
        if link.get("prev_hash") != prev:
            problem = "does not link to the previous event (an event before it was deleted, inserted or reordered)"
            return expected_seq, Finding(asset_id, eid, seq, problem)
        actual = link_hash_of(prev, event)
        if link.get("hash") != actual:
            problem = "its content does not match its hash: the event was changed"
            return expected_seq, Finding(asset_id, eid, seq, problem)
        prev = actual
    return None


def _signed_head(
    asset_id: str, links: Sequence[Mapping[str, Any]], seq: int, head: str, checkpoint_id: str
) -> Finding | None:
    """Does the chain hold, at ``seq``, the head the checkpoint signed?"""
    if len(links) < seq:
        last = links[-1] if links else {}
        return Finding(
            asset_id,
            (last.get("event") or {}).get("id"),
            last.get("seq"),
            f"checkpoint {checkpoint_id} covers {seq} events but the chain ends at seq {len(links)}: "
            "rolled back or events deleted",
        )
    at = links[seq - 1]
    if at.get("hash") != head:
        eid = (at.get("event") or {}).get("id")
        return Finding(
            asset_id, eid, seq, f"this is not the head checkpoint {checkpoint_id} signed: the history was rewritten"
        )
    return None


# --- the verdict a live history carries (gateway) ------------------------------


@dataclass(frozen=True)
class ChainVerdict:
    """Whether one chain, as read now, verifies: it links from its first event,
    and up to the newest signed checkpoint it is the history that checkpoint signed.
    Events after the checkpoint are normal in a live read (not signed yet), so
    ``signed_to_seq`` says how far a signature vouches for it."""

    status: str  # "verified" | "broken"
    broken_at_seq: int | None = None  # the position in the chain (from 1) of the first link that does not verify
    event_id: str | None = None
    reason: str | None = None
    checkpoint_id: str | None = None
    signed_to_seq: int = 0

    def verified_at(self, position: int) -> bool:
        """Does the ``position``-th link read (from 1) verify? Everything before the first break does."""
        return self.status == "verified" or (self.broken_at_seq is not None and position < self.broken_at_seq)


def chain_verdict(
    asset_id: str,
    links: Sequence[Mapping[str, Any]],
    checkpoint: Mapping[str, Any] | None,
    index: ProofIndex | None,
    public_keys: Mapping[str, bytes],
) -> ChainVerdict:
    """The same checks ``serah verify`` makes on one chain, for a history read from
    the store. A checkpoint counts only if a trusted key signed it and the store's
    copy of its chain list leads to its signed root."""
    cid = checkpoint.get("checkpoint_id") if checkpoint else None
    broken = _first_break(asset_id, links)
    signed = 0
    if broken is None and checkpoint is not None and public_keys:
        if (problem := checkpoint_signature_ok(checkpoint, public_keys)) is not None:
            broken = 0, Finding(asset_id, None, None, f"the newest checkpoint {cid} {problem}")
        elif index is None or index.root() != checkpoint.get("root"):
            problem = f"the stored chain list of checkpoint {cid} does not lead to its signed root"
            broken = 0, Finding(asset_id, None, None, problem)
        elif (leaf := index.leaf(asset_id)) is not None:
            seq, head = leaf
            if (f := _signed_head(asset_id, links, seq, head, str(cid))) is None:
                signed = seq
            elif len(links) < seq:
                broken = len(links) + 1, f  # rolled back: what is shown links, what followed is gone
            else:
                broken = 1, f  # rewritten: somewhere up to the signed head, so none of it is vouched for
    if broken is not None:
        at, f = broken
        return ChainVerdict("broken", at or None, f.event_id, f.sentence(), cid, 0)
    return ChainVerdict("verified", None, None, None, cid if signed else None, signed)


# --- verification of a whole export (serah verify) -------------------------------


@dataclass
class _Parsed:
    header: Mapping[str, Any] | None = None
    checkpoints: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    chains: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    leaves: list[tuple[int, Mapping[str, Any]]] = field(default_factory=list)
    proofs: dict[str, tuple[int, Mapping[str, Any]]] = field(default_factory=dict)


def _parse(lines: Iterable[Any], report: Report) -> _Parsed:
    """Sort the lines by kind, and report every line that is not as Serah writes
    it: an unknown kind, a field too many or too few, a repeated or moved line."""
    out = _Parsed()
    seen: dict[bytes, int] = {}
    rank, last_kind = -1, ""
    current: str | None = None
    last_proof: str | None = None

    def bad(n: int, problem: str, asset: str | None = None) -> None:
        report.findings.append(Finding(asset, None, None, problem, line=n))

    for n, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            bad(n, "is not a JSON object")
            continue
        kind = line.get("kind")
        if not isinstance(kind, str) or kind not in LINE_FIELDS:
            bad(n, f"unknown line kind {kind!r}")
            continue
        fields = LINE_FIELDS[kind]
        asset = line.get("asset_id") if isinstance(line.get("asset_id"), str) else None
        key = canonical_json(line)
        if key in seen:
            bad(n, f"repeats line {seen[key]}", asset)
            continue
        seen[key] = n
        if extra := sorted(set(line) - fields):  # reported, and the line still checked for the rest
            bad(n, f"this {kind} line has an unexpected field {', '.join(extra)}", asset)
        if missing := sorted(fields - set(line)):
            bad(n, f"this {kind} line has no field {', '.join(missing)}", asset)
            continue
        if wrong := sorted(k for k in fields if not FIELD_TYPES[k](line[k])):
            bad(n, f"this {kind} line has a malformed {', '.join(wrong)}", asset)
            continue
        if LINE_RANK[kind] < rank:
            bad(n, f"a {kind} line after {last_kind} lines: lines were moved", asset)
        elif LINE_RANK[kind] > rank:
            rank, last_kind = LINE_RANK[kind], kind
        if kind == "header":
            if out.header is not None or n != 1:
                bad(n, "a header that is not the first line")
            else:
                out.header = line
        elif kind == "checkpoint":
            out.checkpoints.append((n, line))
        elif kind == "event":
            if asset is None:
                bad(n, "an event line without a chain id")
                continue
            if asset != current:
                if asset in out.chains or (current is not None and asset < current):
                    bad(n, "this chain's events are not together, in chain-id order: lines were moved", asset)
                current = asset
            out.chains.setdefault(asset, []).append(line)
        elif kind == "leaves":
            out.leaves.append((n, line))
        else:  # proof
            if asset is None:
                bad(n, "a proof line without a chain id")
            elif asset in out.proofs or (last_proof is not None and asset < last_proof):
                bad(n, "a second proof for this chain, or proofs not in chain-id order", asset)
            else:
                out.proofs[asset] = (n, line)
                last_proof = asset
    return out


def _signed_leaves(parsed: _Parsed, cp: Mapping[str, Any], report: Report) -> dict[str, tuple[int, str]] | None:
    """The checkpoint's whole list of (chain, seq, head), if the leaves lines hold
    exactly the list whose Merkle root the checkpoint signed; else None."""
    cid = cp["checkpoint_id"]
    first = parsed.leaves[0][0]
    items: list[Any] = []
    for n, line in parsed.leaves:
        if line["checkpoint_id"] != cid:
            report.findings.append(
                Finding(None, None, None, f"lists the chains of checkpoint {line['checkpoint_id']!r}, not of {cid}", n)
            )
            return None
        chunk = line["leaves"]
        ok = isinstance(chunk, list) and all(
            isinstance(x, list) and len(x) == 3 and isinstance(x[0], str) and _is_seq(x[1]) and _is_hash(x[2])
            for x in chunk
        )
        if not ok:
            problem = "a malformed list of chains (each entry is [chain id, seq, head])"
            report.findings.append(Finding(None, None, None, problem, n))
            return None
        items += chunk
    ids = [x[0] for x in items]
    if any(a >= b for a, b in zip(ids, ids[1:], strict=False)):
        problem = "the checkpoint's list of chains repeats a chain or is out of chain-id order: entries were moved"
    elif len(items) != cp["laptops"]:
        problem = (
            f"checkpoint {cid} signed {cp['laptops']} chains, its list here has {len(items)}: "
            "entries were added or removed"
        )
    elif merkle_root([leaf_hash(a, s, h) for a, s, h in items]) != cp["root"]:
        problem = f"the list of chains does not lead to the root checkpoint {cid} signed: an entry was changed"
    else:
        return {a: (s, h) for a, s, h in items}
    report.findings.append(Finding(None, None, None, problem, first))
    return None


def _proof_problem(proof: Mapping[str, Any], cp: Mapping[str, Any]) -> str | None:
    cid = cp["checkpoint_id"]
    if proof["checkpoint_id"] != cid:
        return f"a proof for checkpoint {proof['checkpoint_id']!r}, not for {cid}"
    path = proof["path"]
    well_formed = (
        _is_seq(proof["seq"])
        and _is_hash(proof["head"])
        and isinstance(path, list)
        and all(
            isinstance(s, dict) and set(s) == {"side", "hash"} and s["side"] in ("L", "R") and _is_hash(s["hash"])
            for s in path
        )
    )
    if not well_formed:
        return "its proof is malformed"
    if root_from_path(leaf_hash(proof["asset_id"], proof["seq"], proof["head"]), path) != cp["root"]:
        return f"its proof does not lead to the root checkpoint {cid} signed"
    return None


def verify_export(
    lines: Iterable[Any], public_keys: Mapping[str, bytes], subjects: Iterable[str] | None = None
) -> Report:
    """Check a JSON Lines export (already parsed); the format is in docs/audit-export.md.

    ``subjects`` None: the export must hold every chain the checkpoint signed,
    proven by the checkpoint's whole chain list (leaves lines), and each missing
    chain is named. Otherwise only the named chains must be there, each proven by
    an inclusion proof or the chain list. Either way every line in the file must
    be sound. The scope is the caller's to choose, never the file's: nothing the
    signature does not cover can make a verdict INTACT."""
    report = Report(subjects=sorted(set(subjects)) if subjects is not None else None)
    parsed = _parse(lines, report)
    header = parsed.header
    if header is None or header.get("format") != EXPORT_FORMAT:
        got = f" (it says {header.get('format')!r})" if header is not None else ""
        report.findings.insert(0, Finding(None, None, None, f"not a {EXPORT_FORMAT} file{got}", 1))
        return report

    report.checkpoints = len(parsed.checkpoints)
    if len(parsed.checkpoints) > 1:
        problem = "more than one checkpoint line: an export is checked against one"
        report.findings.append(Finding(None, None, None, problem, parsed.checkpoints[1][0]))
    cp: Mapping[str, Any] | None = None
    for n, line in parsed.checkpoints:
        if (wrong := checkpoint_signature_ok(line, public_keys)) is not None:
            report.findings.append(Finding(None, None, None, f"checkpoint {line['checkpoint_id']} {wrong}", n))
        elif cp is None or line["created_at"] > cp["created_at"]:
            cp = line
    if cp is None:
        report.findings.append(
            Finding(None, None, None, "no checkpoint a trusted key signed, so no chain can be shown signed")
        )
        signed: dict[str, tuple[int, str]] = {}
        complete = False
    else:
        cid = str(cp["checkpoint_id"])
        report.latest_checkpoint, report.checkpoint_created_at = cid, cp["created_at"]
        report.checkpoint_chains = cp["laptops"]
        listed = _signed_leaves(parsed, cp, report) if parsed.leaves else None
        complete = listed is not None
        signed = dict(listed or {})
        for asset, (n, proof) in parsed.proofs.items():
            if (wrong := _proof_problem(proof, cp)) is not None:
                report.findings.append(Finding(asset, None, None, wrong, n))
            else:
                signed.setdefault(asset, (proof["seq"], proof["head"]))
        if subjects is None and not parsed.leaves:
            report.findings.append(
                Finding(
                    None,
                    None,
                    None,
                    f"the export does not carry the list of the {cp['laptops']} chains checkpoint {cid} signed, "
                    "so it cannot show that none is missing; to check only the chains it holds, "
                    "name them (serah verify FILE --subject ID …)",
                )
            )

    report.laptops = len(parsed.chains)
    for asset, links in sorted(parsed.chains.items()):
        report.events += len(links)
        found = verify_chain(asset, links)
        list_broken = bool(parsed.leaves) and not complete  # already reported; no chain can be placed in it
        if not found and cp is not None and not (list_broken and asset not in signed):
            found = _coverage(asset, links, signed.get(asset), str(cp["checkpoint_id"]))
        report.findings += found

    expected = set(parsed.proofs) | (set(signed) if complete else set())
    if subjects is not None:
        expected |= set(subjects)
    for asset in sorted(expected - set(parsed.chains)):
        if asset in signed:
            at = signed[asset][0]
            problem = (
                f"checkpoint {report.latest_checkpoint} signed this chain at seq {at}, "
                "but the export has none of its events (deleted)"
            )
            report.findings.append(Finding(asset, None, at, problem))
        elif asset in parsed.proofs:
            problem = "the export has a proof for this chain but none of its events (deleted)"
            report.findings.append(Finding(asset, None, None, problem, parsed.proofs[asset][0]))
        else:
            problem = "you asked to verify this chain, but the export has none of its events"
            report.findings.append(Finding(asset, None, None, problem))
    return report


def _coverage(
    asset_id: str, links: Sequence[Mapping[str, Any]], signed: tuple[int, str] | None, checkpoint_id: str
) -> list[Finding]:
    last = links[-1] if links else {}
    last_id = (last.get("event") or {}).get("id")
    if signed is None:
        return [
            Finding(
                asset_id,
                last_id,
                last.get("seq"),
                f"not covered by checkpoint {checkpoint_id}: events newer than the checkpoint, or forged",
            )
        ]
    seq, head = signed
    if (f := _signed_head(asset_id, links, seq, head, checkpoint_id)) is not None:
        return [f]
    if len(links) > seq:
        extra = links[seq]
        return [
            Finding(
                asset_id,
                (extra.get("event") or {}).get("id"),
                extra.get("seq"),
                f"recorded after checkpoint {checkpoint_id} and not covered by it (new or forged)",
            )
        ]
    return []


# --- building an export (used by the gateway and the CLI) ----------------------


def checkpoint_public(cp: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("checkpoint_id", "created_at", "laptops", "root", "key_id", "signature")
    return {"kind": "checkpoint", **{k: cp[k] for k in keys}}


class ProofIndex:
    """Inclusion proofs for every chain covered by one checkpoint.
    ``leaves``: [[asset_id, seq, head], …] in the checkpoint's (chain id) order."""

    def __init__(self, checkpoint_id: str, leaves: Sequence[Sequence[Any]]) -> None:
        self.checkpoint_id = checkpoint_id
        self._leaves: list[tuple[str, int, str]] = [(str(a), int(s), str(h)) for a, s, h in leaves]
        self._pos = {a: (i, s, h) for i, (a, s, h) in enumerate(self._leaves)}
        self._levels = merkle_levels([leaf_hash(a, s, h) for a, s, h in self._leaves])

    def root(self) -> str:
        return self._levels[-1][0].hex() if self._levels[0] else merkle_root([])

    def leaf(self, asset_id: str) -> tuple[int, str] | None:
        """(seq, head) the checkpoint holds for this chain, or None if it does not cover it."""
        if asset_id not in self._pos:
            return None
        _, seq, head = self._pos[asset_id]
        return seq, head

    def proof(self, asset_id: str) -> dict[str, Any] | None:
        if asset_id not in self._pos:
            return None
        i, seq, head = self._pos[asset_id]
        return {
            "kind": "proof",
            "asset_id": asset_id,
            "checkpoint_id": self.checkpoint_id,
            "seq": seq,
            "head": head,
            "path": inclusion_path(self._levels, i),
        }

    def leaves_lines(self) -> Iterator[dict[str, Any]]:
        """The whole chain list, in lines of at most LEAVES_PER_LINE entries (at least one line)."""
        for i in range(0, max(len(self._leaves), 1), LEAVES_PER_LINE):
            chunk = [list(leaf) for leaf in self._leaves[i : i + LEAVES_PER_LINE]]  # JSON arrays, as read back
            yield {"kind": "leaves", "checkpoint_id": self.checkpoint_id, "leaves": chunk}

    def assets(self) -> list[str]:
        return list(self._pos)


def event_line(link: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": "event",
        "asset_id": link["asset_id"],
        "seq": link["seq"],
        "prev_hash": link["prev_hash"],
        "hash": link["hash"],
        "event": link["event"],
    }


def header_line() -> dict[str, Any]:
    # Only what the verifier checks: an unsigned field that changed nothing would be
    # a place to put words in the export's mouth.
    return {"kind": "header", "format": EXPORT_FORMAT}
