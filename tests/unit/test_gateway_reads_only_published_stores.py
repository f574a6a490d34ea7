"""The edge talks to the workers only through the contract (commands and events)
and the stores published for reading: the audit's views, log and indexes, and the
handover's BAST documents. A worker's own documents — its per-subject streams
with their event ``history`` — are its private state, which it may reshape at will;
nothing in the gateway package may read them."""

from __future__ import annotations

import re
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"

# The workers' per-subject stream collections (services/allocation, services/handover).
PRIVATE = (
    "allocation_laptops",
    "allocation_consignments",
    "handover_laptops",
    "handover_consignments",
    "handover_rosters",
)

# What the gateway may read: published for readers, and its own identity store.
PUBLISHED = {
    # the audit service's
    "laptop_views",
    "event_log",
    "scan_index",
    "unconfirmed_consignments",
    "open_consignments",
    "office_counters",
    "checkpoints",
    "checkpoint_leaves",
    "dead_letters",
    # the handover service's published documents (BASTs, holders' berita acara, write-off
    # proposals), and the receipts it holds
    "bast_documents",
    "laptop_documents",
    "held_receipts",
    # every worker's heartbeat, for /healthz
    "worker_status",
    # the gateway's own: who may sign in (services/gateway/auth/store.py), never published
    "accounts",
    "sessions",
    "devices",
    "sign_ins",
    "key_rings",
    "store_probes",  # written by /healthz to learn whether the store takes writes
}

ATTRIBUTE = re.compile(r"\b_?db\.([a-z_]+)\b")  # db.laptop_views, self._db.event_log
SUBSCRIPT = re.compile(r"\b_?db\[\s*([^\]]+?)\s*\]")  # self._db[VIEWS], db["name"]


def sources() -> list[Path]:
    return sorted(p for p in GATEWAY.rglob("*") if p.is_file() and p.suffix in (".py", ".html", ".j2", ".js"))


def collections_read(text: str) -> set[str]:
    constants = dict(re.findall(r'^([A-Z_]+)\s*=\s*"([a-z_]+)"', text, re.M))
    names = {n for n in ATTRIBUTE.findall(text) if n != "command"}  # db.command("ping") is no collection
    for key in SUBSCRIPT.findall(text):
        names.add(key.strip("\"'") if key[0] in "\"'" else constants.get(key, f"<unresolved {key}>"))
    return names


def test_the_scan_finds_the_collections_a_module_reads() -> None:
    text = 'VIEWS = "laptop_views"\nawait self._db[VIEWS].find_one()\nawait db.scan_index.find_one()\ndb["x_y"]'
    assert collections_read(text) == {"laptop_views", "scan_index", "x_y"}


def test_no_gateway_file_names_a_worker_s_private_documents() -> None:
    found = [(p.relative_to(GATEWAY), n) for p in sources() for n in PRIVATE if n in p.read_text(encoding="utf-8")]
    assert found == [], "read the audit's views instead (services/gateway/adapters/consignment_reads.py)"


def test_no_gateway_module_reads_a_worker_s_event_history() -> None:
    found = [p.relative_to(GATEWAY) for p in sources() if re.search(r"""["']history["']""", p.read_text("utf-8"))]
    assert found == [], "a worker's history is its own: read what the audit recorded"


def test_every_collection_the_gateway_reads_is_published_for_readers() -> None:
    read = {n: p.relative_to(GATEWAY) for p in sources() for n in collections_read(p.read_text(encoding="utf-8"))}
    assert {"laptop_views", "unconfirmed_consignments", "bast_documents"} <= set(read)
    assert {n: p for n, p in read.items() if n not in PUBLISHED} == {}
