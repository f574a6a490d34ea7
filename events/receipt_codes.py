"""Receipt codes: what the receiving official types to confirm a consignment.

- A code is 16 characters of ``ALPHABET`` (no 0/O, 1/I/L: read aloud and typed on
  phones), chosen at random: 16 × log2(31) ≈ 79 bits. It is shown and printed in
  four groups, ``K7Q2-M9XP-4RTW-HN3C``.
- A code is accepted as typed with or without the dashes between its groups, in
  either case, with spaces around it, and in no other spelling. ASCII only: Unicode
  upper-casing would turn ``ı`` into ``I`` and accept a code that was never issued.
- Only a keyed hash of a code travels and is kept: HMAC-SHA256 under a server key
  that only the services making and checking codes hold, written
  ``hmac-sha256:<KID>:<hex>``. Whoever reads the event log or an export without the
  key has nothing to try codes against. The key id lets keys rotate: the first key of
  a ring hashes new codes, every key in the ring checks them; a code hashed under a
  key no longer in the ring no longer confirms anything (re-issue it).

Pure: the keys are passed in. Reading them from the environment is the services'
(``SERAH_RECEIPT_CODE_KEYS``, services/common/settings.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from events.text import same_secret

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GROUPS = 4
GROUP_LENGTH = 4
LENGTH = GROUPS * GROUP_LENGTH
SCHEME = "hmac-sha256"
# The stored form; the key id has the shape of a label key's id (one key ring format for both).
HASH_PATTERN = rf"^{SCHEME}:[A-Z][A-Z0-9]{{0,7}}:[0-9a-f]{{64}}$"

_CHAR = f"[{ALPHABET}]"
_BARE = re.compile(f"{_CHAR}{{{LENGTH}}}")
_GROUPED = re.compile("-".join([f"{_CHAR}{{{GROUP_LENGTH}}}"] * GROUPS))
_HASH = re.compile(HASH_PATTERN)


def normalise(typed: str) -> str | None:
    """The code as issued (``LENGTH`` characters, no dashes) for a code as a person
    types it, or None when the text cannot be a receipt code."""
    text = typed.strip()
    if not text.isascii():
        return None
    text = text.upper()
    if _GROUPED.fullmatch(text):
        return text.replace("-", "")
    return text if _BARE.fullmatch(text) else None


def grouped(code: str) -> str:
    """How a code is shown and printed: its groups joined by dashes."""
    issued = normalise(code)
    if issued is None:
        raise ValueError("not a receipt code")
    return "-".join(issued[i : i + GROUP_LENGTH] for i in range(0, LENGTH, GROUP_LENGTH))


def mac(keys: Mapping[str, bytes], code: str) -> str:
    """The stored form of ``code`` (as issued or as typed) under the ring's first key."""
    issued = normalise(code)
    if issued is None:
        raise ValueError("not a receipt code")
    if not keys:
        raise ValueError("no receipt code key given")
    kid, key = next(iter(keys.items()))
    return f"{SCHEME}:{kid}:{_digest(key, issued)}"


def matches(keys: Mapping[str, bytes], typed: str, stored: str) -> bool:
    """Whether ``typed`` is the code ``stored`` was made from, checked under the key
    ``stored`` names, in constant time. False for text that is not a code, a stored
    value of another form, or a key the ring no longer holds."""
    issued = normalise(typed)
    key = keys.get(key_id(stored) or "")
    if issued is None or key is None:
        return False
    return same_secret(f"{SCHEME}:{key_id(stored)}:{_digest(key, issued)}", stored)


def key_id(stored: str) -> str | None:
    """The id of the key ``stored`` was made under; None if it is not a stored code."""
    return stored.split(":")[1] if _HASH.fullmatch(stored) else None


def _digest(key: bytes, issued: str) -> str:
    return hmac.new(key, issued.encode("ascii"), hashlib.sha256).hexdigest()
