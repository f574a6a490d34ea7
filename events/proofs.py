"""Tamper evidence an auditor can check without trusting the server.

Pure code (stdlib, orjson, cryptography): the audit service uses it to build
chains and checkpoints, ``serah verify`` uses the same functions offline.

Hash chain (one per laptop)
    link_hash = SHA-256( bytes.fromhex(prev_hash) || canonical(event) )
    canonical(event) = the CloudEvent as JSON, keys sorted at every level, no
    whitespace, UTF-8 (not ASCII-escaped), time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
    (Python: ``json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``).
    The first link's prev_hash is 64 zeros; seq counts from 1 without gaps.

Checkpoint (a signed Merkle root over every laptop's chain head)
    leaf  = SHA-256( 0x00 || "<asset_id>|<seq>|<head hash hex>" )
    node  = SHA-256( 0x01 || left || right )
    Leaves are ordered by asset id; each level pairs neighbours left to right,
    an odd last node is promoted unchanged. The 0x00/0x01 prefixes (as in
    RFC 6962) stop an inner node from being passed off as a leaf. An empty tree's
    root is SHA-256 of nothing.
    signed message = "SERAH-CHECKPOINT1|<checkpoint_id>|<created_at>|<laptops>|<root hex>"
    signature = Ed25519 over that message (base64url, no padding), key named by key_id.

Inclusion proof of one laptop's head
    {"index": i, "seq": s, "head": h, "path": [{"side": "L"|"R", "hash": hex}, …]}
    Start from leaf(asset, s, h); for each step, hash with the sibling on the
    given side; the result must equal the checkpoint's root.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

GENESIS = "0" * 64
EXPORT_FORMAT = "serah-export/1"


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
    key = public_keys.get(checkpoint.get("key_id", ""))
    if key is None:
        return f"signed with key {checkpoint.get('key_id')!r}, which you did not give as trusted"
    try:
        msg = checkpoint_message(
            checkpoint["checkpoint_id"], checkpoint["created_at"], int(checkpoint["laptops"]), checkpoint["root"]
        )
        Ed25519PublicKey.from_public_bytes(key).verify(unb64(checkpoint["signature"]), msg)
    except (KeyError, ValueError, TypeError):
        return "is incomplete or malformed"
    except InvalidSignature:
        return "has a signature that does not match its content"
    return None


# --- verification of an export ------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One piece of damage: which laptop, which event (if one can be named), what."""

    asset_id: str | None
    event_id: str | None
    seq: int | None
    problem: str

    def sentence(self) -> str:
        where = f"laptop {self.asset_id}" if self.asset_id else "export"
        if self.event_id:
            where += f", event {self.event_id} (seq {self.seq})"
        elif self.seq is not None:
            where += f", at seq {self.seq}"
        return f"{where}: {self.problem}"


@dataclass
class Report:
    laptops: int = 0
    events: int = 0
    checkpoints: int = 0
    latest_checkpoint: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


def verify_chain(asset_id: str, links: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Links in file order. Reports the first break and stops: after it, every
    later hash is meaningless."""
    prev = GENESIS
    for expected_seq, link in enumerate(links, start=1):
        event = link.get("event") or {}
        eid = event.get("id") if isinstance(event, dict) else None
        seq = link.get("seq")
        if seq != expected_seq:
            what = "is missing or out of order" if isinstance(seq, int) else "has no sequence number"
            return [
                Finding(asset_id, eid, seq, f"expected seq {expected_seq} here: an event {what} (deleted or reordered)")
            ]
        if not isinstance(event, dict) or event.get("subject") != asset_id:
            return [Finding(asset_id, eid, seq, "the event does not belong to this laptop")]
        if link.get("prev_hash") != prev:
            return [
                Finding(
                    asset_id,
                    eid,
                    seq,
                    "does not link to the previous event (an event before it was deleted, inserted or reordered)",
                )
            ]
        actual = link_hash_of(prev, event)
        if link.get("hash") != actual:
            return [Finding(asset_id, eid, seq, "its content does not match its hash: the event was changed")]
        prev = actual
    return []


def verify_export(lines: Iterable[Mapping[str, Any]], public_keys: Mapping[str, bytes]) -> Report:
    """Check a JSON Lines export (already parsed). See docs/issue-5.md for the format."""
    report = Report()
    header: Mapping[str, Any] | None = None
    checkpoints: dict[str, Mapping[str, Any]] = {}
    chains: dict[str, list[Mapping[str, Any]]] = {}
    proofs: dict[str, Mapping[str, Any]] = {}
    for line in lines:
        kind = line.get("kind")
        if kind == "header":
            header = line
        elif kind == "checkpoint":
            checkpoints[line.get("checkpoint_id", "?")] = line
        elif kind == "event":
            chains.setdefault(str(line.get("asset_id")), []).append(line)
        elif kind == "proof":
            proofs[str(line.get("asset_id"))] = line
        else:
            report.findings.append(Finding(None, None, None, f"unknown line kind {kind!r}"))
    if header is None or header.get("format") != EXPORT_FORMAT:
        report.findings.append(Finding(None, None, None, f"not a {EXPORT_FORMAT} file (no header line)"))
        return report

    report.checkpoints = len(checkpoints)
    for cid, cp in checkpoints.items():
        if (problem := checkpoint_signature_ok(cp, public_keys)) is not None:
            report.findings.append(Finding(None, None, None, f"checkpoint {cid} {problem}"))
    latest_id = header.get("latest_checkpoint")
    latest = checkpoints.get(latest_id) if latest_id else None
    report.latest_checkpoint = latest_id
    if latest is None:
        report.findings.append(
            Finding(None, None, None, "the export names no checkpoint, so no chain can be shown complete")
        )

    report.laptops = len(chains)
    for asset_id, links in sorted(chains.items()):
        report.events += len(links)
        report.findings += verify_chain(asset_id, links)
        if latest is not None:
            report.findings += _coverage(asset_id, links, proofs.get(asset_id), latest)
    for asset_id in sorted(set(proofs) - set(chains)):
        proof = proofs[asset_id]
        report.findings.append(
            Finding(
                asset_id,
                None,
                proof.get("seq"),
                "the checkpoint covers this laptop but the export has none of its events (deleted)",
            )
        )
    if latest is not None and header.get("scope") == "all" and len(proofs) != latest.get("laptops"):
        report.findings.append(
            Finding(
                None,
                None,
                None,
                f"checkpoint {latest_id} covers {latest.get('laptops')} laptops, the export proves {len(proofs)}",
            )
        )
    return report


def _coverage(
    asset_id: str, links: Sequence[Mapping[str, Any]], proof: Mapping[str, Any] | None, checkpoint: Mapping[str, Any]
) -> list[Finding]:
    cid = checkpoint.get("checkpoint_id")
    last = links[-1] if links else {}
    last_id = (last.get("event") or {}).get("id")
    if proof is None:
        return [
            Finding(
                asset_id,
                last_id,
                last.get("seq"),
                f"not covered by checkpoint {cid}: events newer than the checkpoint, or forged",
            )
        ]
    seq, head = proof.get("seq"), proof.get("head")
    if not isinstance(seq, int) or not isinstance(head, str):
        return [Finding(asset_id, None, None, "its proof is malformed")]
    if root_from_path(leaf_hash(asset_id, seq, head), proof.get("path") or []) != checkpoint.get("root"):
        return [Finding(asset_id, None, seq, f"its proof does not lead to the root of checkpoint {cid}")]
    if len(links) < seq:
        return [
            Finding(
                asset_id,
                last_id,
                last.get("seq"),
                f"checkpoint {cid} covers {seq} events but the chain ends at seq {len(links)}: "
                "rolled back or events deleted",
            )
        ]
    at = links[seq - 1]
    if at.get("hash") != head:
        eid = (at.get("event") or {}).get("id")
        return [Finding(asset_id, eid, seq, f"this is not the head checkpoint {cid} signed: the history was rewritten")]
    if len(links) > seq:
        extra = links[seq]
        eid = (extra.get("event") or {}).get("id")
        return [
            Finding(
                asset_id,
                eid,
                extra.get("seq"),
                f"recorded after checkpoint {cid} and not covered by it (new or forged)",
            )
        ]
    return []


# --- building an export (used by the gateway and the CLI) ----------------------


def checkpoint_public(cp: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("checkpoint_id", "created_at", "laptops", "root", "key_id", "signature")
    return {"kind": "checkpoint", **{k: cp[k] for k in keys}}


class ProofIndex:
    """Inclusion proofs for every laptop covered by one checkpoint.
    ``leaves``: [[asset_id, seq, head], …] in the checkpoint's (asset id) order."""

    def __init__(self, checkpoint_id: str, leaves: Sequence[Sequence[Any]]) -> None:
        self.checkpoint_id = checkpoint_id
        self._pos = {str(a): (i, int(s), str(h)) for i, (a, s, h) in enumerate(leaves)}
        self._levels = merkle_levels([leaf_hash(str(a), int(s), str(h)) for a, s, h in leaves])

    def root(self) -> str:
        return self._levels[-1][0].hex() if self._levels[0] else merkle_root([])

    def proof(self, asset_id: str) -> dict[str, Any] | None:
        if asset_id not in self._pos:
            return None
        i, seq, head = self._pos[asset_id]
        return {
            "kind": "proof",
            "asset_id": asset_id,
            "checkpoint_id": self.checkpoint_id,
            "index": i,
            "seq": seq,
            "head": head,
            "path": inclusion_path(self._levels, i),
        }

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


def header_line(exported_at: str, scope: str, latest: str | None) -> dict[str, Any]:
    return {
        "kind": "header",
        "format": EXPORT_FORMAT,
        "exported_at": exported_at,
        "scope": scope,
        "latest_checkpoint": latest,
        "verify": "serah verify FILE --key KID:PUBLIC_KEY (see docs/issue-5.md)",
    }
