"""Signed QR identities.

A label is a URL, so any phone camera opens the laptop's page:

    <BASE>/L/<ASSET>/<GEN><KID>/<SIG>        e.g. …/L/SRHD1M743J0FY/1K1/IPRUA37…

- ASSET: the asset id, ``SRH`` + 10 Crockford base-32 characters.
- GEN: the label generation (1 for the first label; re-issuing after loss or
  damage increments it, so a revoked label's signature never matches again).
- KID: the signing key's id (a letter, then up to 7 letters/digits, so it
  parses unambiguously after GEN); keys rotate, old keys keep verifying while trusted.
- SIG: Ed25519 over ``SERAH1|ASSET|GEN|KID``, RFC 4648 base-32 without padding.

Everything after the base is upper-case letters, digits and ``/``, so the QR
encoder can use alphanumeric mode: a smaller code that scans when printed small.
With a public base URL of at most 31 characters the label fits a version-6
QR code at error correction M, which scans printed 20 mm wide.
A signature proves the label is genuine, not that a scan is fresh; freshness
comes from the scan id and time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from events.catalog import RejectionReason

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ASSET_ID = re.compile(r"^SRH[0-9A-HJKMNP-TV-Z]{10}$")
KEY_ID = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
_PATH = re.compile(r"/L/(?P<asset>[^/]+)/(?P<gen>[0-9]*)(?P<kid>[^/]*)/(?P<sig>[^/?#]+)/?$", re.IGNORECASE)
MAX_BASE_URL_CHARS = 31
SIGNATURE_CHARS = 103  # 64 bytes in base-32 without padding


@dataclass(frozen=True)
class LabelClaim:
    """What a scanned label claims, before its signature is checked."""

    asset_id: str
    generation: int
    key_id: str
    signature: bytes


class LabelError(ValueError):
    def __init__(self, reason: RejectionReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def asset_id_for_serial(serial: str) -> str:
    """The asset id is derived from the serial, so registering the same laptop
    twice (a re-imported vendor file) names the same asset."""
    digest = hashlib.sha256(b"serah-asset|" + serial.strip().upper().encode()).digest()
    number = int.from_bytes(digest[:7], "big") >> 6  # 50 bits
    chars = []
    for _ in range(10):
        number, rem = divmod(number, 32)
        chars.append(CROCKFORD[rem])
    return "SRH" + "".join(reversed(chars))


def message(asset_id: str, generation: int, key_id: str) -> bytes:
    return f"SERAH1|{asset_id}|{generation}|{key_id}".encode()


def sign(seed: bytes, asset_id: str, generation: int, key_id: str) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message(asset_id, generation, key_id))


def public_key(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def format_label(base_url: str, asset_id: str, generation: int, key_id: str, signature: bytes) -> str:
    sig = base64.b32encode(signature).decode().rstrip("=")
    return f"{base_url.rstrip('/')}/L/{asset_id}/{generation}{key_id}/{sig}"


def parse(text: str) -> LabelClaim:
    """Parse a scanned label. Raises LabelError(LABEL_MALFORMED) saying what is wrong."""
    text = text.strip()
    match = _PATH.search(text)
    if not match:
        raise LabelError(
            RejectionReason.LABEL_MALFORMED,
            "This is not a Serah label: expected …/L/<asset>/<generation><key>/<signature>. Scan the label again.",
        )
    asset, gen, kid, sig = (match[g].upper() for g in ("asset", "gen", "kid", "sig"))
    if not ASSET_ID.match(asset):
        raise LabelError(RejectionReason.LABEL_MALFORMED, f"{asset!r} is not a Serah asset id.")
    if not gen.isdigit() or not 1 <= int(gen) <= 999:
        raise LabelError(RejectionReason.LABEL_MALFORMED, f"label generation {gen!r} is not a number from 1 to 999.")
    if not KEY_ID.match(kid):
        raise LabelError(RejectionReason.LABEL_MALFORMED, f"key id {kid!r} is not a Serah key id.")
    if len(sig) != SIGNATURE_CHARS:
        raise LabelError(
            RejectionReason.LABEL_MALFORMED,
            f"the signature has {len(sig)} characters, not {SIGNATURE_CHARS}: the label is truncated or damaged.",
        )
    try:
        signature = base64.b32decode(sig + "=" * (-len(sig) % 8))
    except (binascii.Error, ValueError):
        raise LabelError(RejectionReason.LABEL_MALFORMED, "the signature is not valid base-32.") from None
    if base64.b32encode(signature).decode().rstrip("=") != sig:
        # The last character carries 3 unused bits; only one spelling is genuine,
        # so a label cannot be varied without changing what it means.
        raise LabelError(RejectionReason.LABEL_MALFORMED, "the signature is not in canonical base-32.")
    return LabelClaim(asset, int(gen), kid, signature)


def verify(claim: LabelClaim, public_keys: Mapping[str, bytes]) -> None:
    """Raises LabelError unless a trusted key signed exactly this claim."""
    key = public_keys.get(claim.key_id)
    if key is None:
        raise LabelError(
            RejectionReason.LABEL_UNKNOWN_KEY,
            f"this label was signed with key {claim.key_id!r}, which this system does not trust.",
        )
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            claim.signature, message(claim.asset_id, claim.generation, claim.key_id)
        )
    except InvalidSignature:
        raise LabelError(
            RejectionReason.LABEL_FORGED,
            "the label's signature does not match: it was not issued by Serah. Set the laptop aside and report it.",
        ) from None


def check_current(claim: LabelClaim, asset_id: str, current_generation: int) -> None:
    """A genuine label must also be the laptop's current one."""
    if claim.asset_id != asset_id:
        raise LabelError(
            RejectionReason.LABEL_ASSET_MISMATCH,
            f"the label belongs to {claim.asset_id}, not {asset_id}.",
        )
    if claim.generation != current_generation:
        raise LabelError(
            RejectionReason.LABEL_REVOKED,
            f"label generation {claim.generation} was replaced by generation {current_generation}; "
            "use the new label and report the old one.",
        )


def parse_keyring(text: str) -> dict[str, bytes]:
    """``KID:base64url,KID:base64url`` -> {kid: 32 key bytes}. The first listed
    key is the active signer (dicts keep insertion order)."""
    ring: dict[str, bytes] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        kid, sep, b64 = item.partition(":")
        if not sep or not KEY_ID.match(kid):
            raise ValueError(f"key ring entry {item[:12]!r}…: expected KID:base64, KID a letter then A-Z0-9")
        raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        if len(raw) != 32:
            raise ValueError(f"key {kid}: expected 32 bytes, got {len(raw)}")
        ring[kid] = raw
    return ring


def format_keyring(ring: Mapping[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.urlsafe_b64encode(raw).decode().rstrip('=')}" for kid, raw in ring.items())


def check_scan(text: str, subject: str, public_keys: Mapping[str, bytes]) -> LabelClaim:
    """Everything a scanner or service checks about a scanned label before the
    laptop's state: well-formed, signed by a trusted key, and naming the asset
    the message is about. Whether it is the laptop's *current* label is for the
    caller, who knows the laptop (``check_current``)."""
    claim = parse(text)
    verify(claim, public_keys)
    if claim.asset_id != subject:
        raise LabelError(
            RejectionReason.LABEL_ASSET_MISMATCH,
            f"the label belongs to {claim.asset_id}, but the scan was sent for {subject}.",
        )
    return claim


def check_scanned_label(
    text: str, asset_id: str, public_keys: Mapping[str, bytes], *, registered: bool, current_generation: int
) -> LabelClaim:
    """The whole label check of a scan, in the order every service answers it:
    a forged or malformed label is reported as such even for an unknown laptop
    (the forgery is the more useful fact), then an unregistered laptop, then a
    genuine but replaced (revoked) label."""
    claim = check_scan(text, asset_id, public_keys)
    if not registered:
        raise LabelError(RejectionReason.UNKNOWN_LAPTOP, f"{asset_id} is not registered.")
    check_current(claim, asset_id, current_generation)
    return claim


# --- offline verification (issue 3) -----------------------------------------
KEYRING_FORMAT = "serah-label-keys/1"


def keyring_document(public_keys: Mapping[str, bytes], active_key_id: str | None = None) -> dict[str, object]:
    """The file an offline scanner carries: every trusted public key by key id.
    Public keys only; it can be published anywhere."""
    return {
        "format": KEYRING_FORMAT,
        "algorithm": "Ed25519",
        "message": "SERAH1|ASSET|GEN|KID",
        "keys": [
            {
                "key_id": kid,
                "public_key": base64.urlsafe_b64encode(raw).decode().rstrip("="),
                "active": kid == active_key_id,
            }
            for kid, raw in public_keys.items()
        ],
    }


def keys_from_document(doc: Mapping[str, object]) -> dict[str, bytes]:
    """Reads a ``keyring_document``; raises ValueError saying what is wrong."""
    if not isinstance(doc, Mapping) or doc.get("format") != KEYRING_FORMAT:
        raise ValueError(f"not a Serah key file: expected format {KEYRING_FORMAT!r}")
    entries = doc.get("keys")
    if not isinstance(entries, list):
        raise ValueError("the key file has no 'keys' list")
    ring: dict[str, bytes] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValueError("every key entry must be an object with key_id and public_key")
        kid, b64 = entry.get("key_id"), entry.get("public_key")
        if not isinstance(kid, str) or not KEY_ID.match(kid) or not isinstance(b64, str):
            raise ValueError(f"key entry {str(kid)[:12]!r}: expected key_id A-Z0-9 and a base64url public_key")
        raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        if len(raw) != 32:
            raise ValueError(f"key {kid}: expected 32 bytes, got {len(raw)}")
        ring[kid] = raw
    return ring


def verify_offline(text: str, key_file: Mapping[str, object]) -> LabelClaim:
    """What a scanner without a network can know: the label is well-formed and
    was signed by a key in the published key file. It cannot know whether the
    label was revoked since the file was made; the server's scan paths check that."""
    claim = parse(text)
    verify(claim, keys_from_document(key_file))
    return claim
