"""Signed QR identities.

A label is a URL, so any phone camera opens the laptop's page:

    <BASE>/L/<ASSET>/<GEN><KID>/<SIG>        e.g. …/L/SRHD1M743J0FY/1K1/IPRUA37…

- ASSET: the asset id, ``SRH`` + 10 Crockford base-32 characters.
- GEN: the label generation (1 for the first label; re-issuing after loss or
  damage increments it, so a revoked label's signature never matches again).
- KID: the signing key's id (a letter, then up to 7 letters/digits, so it
  parses unambiguously after GEN); keys rotate, old keys keep verifying while trusted.
- SIG: Ed25519 over ``SERAH1|ASSET|GEN|KID``, RFC 4648 base-32 without padding.

Each label has exactly one spelling, the one ``format_label`` writes: no
leading zeros, no lower case, nothing before or after it, ASCII only. ``parse``
matches that spelling exactly and refuses every other (``label_malformed``), so a
label cannot be varied and still pass, and what travels on is always
``claim.text``, never the scanned input.

Everything after the base is upper-case letters, digits and ``/``, so the QR
encoder can use alphanumeric mode: a smaller code that scans when printed small.
With a public base URL of at most 31 characters the label fits a version-6
QR code at error correction M, which scans printed 20 mm wide.
A signature proves the label is genuine, not that a scan is fresh; freshness
comes from the scan id and time.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from events.catalog import RejectionReason

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Patterns name ASCII ranges only (no \d, no IGNORECASE) and are used with
# ``fullmatch``: "$" alone would let a trailing newline through.
ASSET_ID = re.compile(r"^SRH[0-9A-HJKMNP-TV-Z]{10}$")
KEY_ID = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
# The base a label points at, as ``canonical_base`` writes it: upper-case scheme
# and host (case-insensitive in URLs, and upper case keeps the QR alphanumeric),
# a port without leading zeros, then the deployment's own path, if any, as configured.
_BASE = (
    r"HTTPS?://[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?(?:\.[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?)*"
    r"(?::[1-9][0-9]{0,4})?(?:/[A-Za-z0-9._~-]+)*"
)
_LABEL_PATH = (
    r"/L/(?P<asset>SRH[0-9A-HJKMNP-TV-Z]{10})"
    r"/(?P<gen>[1-9][0-9]{0,2})(?P<kid>[A-Z][A-Z0-9]{0,7})"
    r"/(?P<sig>[A-Z2-7]{103})"
)
_LABEL = re.compile(rf"(?P<base>{_BASE}){_LABEL_PATH}")
_PATH_ONLY = re.compile(_LABEL_PATH)
BASE_URL = re.compile(_BASE)
MAX_BASE_URL_CHARS = 31
SIGNATURE_CHARS = 103  # 64 bytes in base-32 without padding


@dataclass(frozen=True)
class LabelClaim:
    """What a scanned label claims, before its signature is checked. ``base`` is
    the URL the label points at ("" for a label page's path, whose host the
    browser has already resolved); the signature does not cover it."""

    asset_id: str
    generation: int
    key_id: str
    signature: bytes
    base: str = ""

    @property
    def text(self) -> str:
        """The one canonical spelling of this label; ``parse`` accepts nothing else."""
        return self.base + _path(self.asset_id, self.generation, self.key_id, self.signature)


class LabelError(ValueError):
    def __init__(self, reason: RejectionReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def asset_id_for_serial(serial: str) -> str:
    """The asset id is derived from the serial, so registering the same laptop
    twice (a re-imported vendor file) names the same asset. Case is folded for
    ASCII only: a non-ASCII serial (``ſ`` upper-cases to ``S``) is refused, not
    mapped onto another laptop."""
    if not serial.isascii():
        raise ValueError(f"serial {serial[:40]!r}: a serial is ASCII letters, digits and . _ / -")
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


def canonical_base(public_base_url: str) -> str:
    """The base URL as labels carry it: scheme and host upper-cased (so the whole
    label stays in the QR alphanumeric set), no trailing slash. Raises ValueError
    for a base no label could be parsed back from."""
    base = public_base_url.strip().rstrip("/")
    scheme, sep, rest = base.partition("://")
    host, slash, path = rest.partition("/")
    canonical = f"{scheme.upper()}{sep}{host.upper()}{slash}{path}"
    if not BASE_URL.fullmatch(canonical):
        raise ValueError(
            f"public base URL {public_base_url!r}: expected http(s)://host[:port][/path], "
            "the path in letters, digits and . _ ~ -"
        )
    return canonical


def _path(asset_id: str, generation: int, key_id: str, signature: bytes) -> str:
    sig = base64.b32encode(signature).decode().rstrip("=")
    return f"/L/{asset_id}/{generation}{key_id}/{sig}"


def format_label(base_url: str, asset_id: str, generation: int, key_id: str, signature: bytes) -> str:
    return base_url.rstrip("/") + _path(asset_id, generation, key_id, signature)


_NOT_A_LABEL = (
    "This is not a Serah label: expected <base>/L/<asset>/<generation><key>/<signature>. Scan the label again."
)


def parse(text: str) -> LabelClaim:
    """Parse a scanned label. Exactly one spelling of a label is accepted: the one
    ``format_label`` writes (``parse(s).text == s``). Nothing is searched for,
    trimmed, case-folded or normalised, so no other byte string can pass as the
    same label and nothing else scanned travels with it. Raises
    LabelError(LABEL_MALFORMED) saying what is wrong."""
    match = _LABEL.fullmatch(text)
    if match is None:
        raise LabelError(RejectionReason.LABEL_MALFORMED, _what_is_wrong(text, needs_base=True))
    return _claim(text, match)


def parse_path(path: str) -> LabelClaim:
    """Parse a label page's path (``/L/<asset>/<generation><key>/<signature>``),
    as strictly as ``parse``; the claim's ``base`` is empty."""
    match = _PATH_ONLY.fullmatch(path)
    if match is None:
        raise LabelError(RejectionReason.LABEL_MALFORMED, _what_is_wrong(path, needs_base=False))
    return _claim(path, match)


def _claim(text: str, match: re.Match[str]) -> LabelClaim:
    sig = match["sig"]
    signature = base64.b32decode(sig + "=" * (-len(sig) % 8))
    claim = LabelClaim(match["asset"], int(match["gen"]), match["kid"], signature, match.groupdict().get("base") or "")
    if claim.text != text:
        # The last character carries 3 unused bits; only one spelling is genuine,
        # so a label cannot be varied without changing what it means.
        raise LabelError(RejectionReason.LABEL_MALFORMED, "the signature is not in canonical base-32.")
    return claim


def _what_is_wrong(text: str, *, needs_base: bool) -> str:
    """A sentence for a refused label. Only explains; never accepts anything."""
    if not text.isascii() or not text.isprintable():
        return "the label contains characters no Serah label has (not printable ASCII): scan the label again."
    at = text.find("/L/")
    if at < 0:
        return _NOT_A_LABEL
    base, parts = text[:at], text[at + 3 :].split("/")
    if needs_base and not BASE_URL.fullmatch(base):
        return f"{base[:40]!r} before /L/ is not a label's base URL (HTTP(S)://HOST…, nothing before it): scan again."
    if not needs_base and base:
        return _NOT_A_LABEL
    if len(parts) != 3:
        return _NOT_A_LABEL
    asset, gen_kid, sig = parts
    if not ASSET_ID.fullmatch(asset):
        return f"{asset[:20]!r} is not a Serah asset id (SRH and 10 upper-case letters or digits)."
    digits = len(gen_kid) - len(gen_kid.lstrip("0123456789"))
    gen, kid = gen_kid[:digits], gen_kid[digits:]
    if not gen or gen.startswith("0") or len(gen) > 3:
        return f"label generation {gen!r} is not a number from 1 to 999 written without leading zeros."
    if not KEY_ID.fullmatch(kid):
        return f"key id {kid[:12]!r} is not a Serah key id (an upper-case letter, then up to 7 letters or digits)."
    if len(sig) != SIGNATURE_CHARS:
        return f"the signature has {len(sig)} characters, not {SIGNATURE_CHARS}: the label is truncated or damaged."
    return "the signature is not upper-case base-32 (A-Z, 2-7): the label is damaged."


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
        if not sep or not KEY_ID.fullmatch(kid):
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
    text: str,
    asset_id: str,
    public_keys: Mapping[str, bytes],
    *,
    registered: bool,
    current_generation: int,
    revoked: bool = False,
) -> LabelClaim:
    """The whole label check of a scan, in the order every service answers it:
    a forged or malformed label is reported as such even for an unknown laptop
    (the forgery is the more useful fact), then an unregistered laptop, then a
    genuine label that was revoked for good (``revoked``: the laptop was written off),
    then a genuine but replaced (revoked) one."""
    claim = check_scan(text, asset_id, public_keys)
    if not registered:
        raise LabelError(RejectionReason.UNKNOWN_LAPTOP, f"{asset_id} is not registered.")
    if revoked and claim.asset_id == asset_id:
        raise LabelError(
            RejectionReason.LABEL_REVOKED,
            f"the label of {asset_id} is revoked: the laptop was written off. Keep the laptop aside and report "
            "where it was found.",
        )
    check_current(claim, asset_id, current_generation)
    return claim


# --- offline verification ----------------------------------------------------
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
        if not isinstance(kid, str) or not KEY_ID.fullmatch(kid) or not isinstance(b64, str):
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
