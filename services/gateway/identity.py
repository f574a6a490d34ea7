"""Issues signed label identities. Only the gateway holds the signing keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from events import labels
from events.catalog import LabelRef


class LabelIssuer:
    def __init__(self, signing_keys: dict[str, bytes], public_base_url: str) -> None:
        if not signing_keys:
            raise ValueError("no label signing key configured: set SERAH_LABEL_SIGNING_KEYS (see deploy/env.template)")
        self._keys = signing_keys
        self.active_key_id = next(iter(signing_keys))
        self._base = labels.canonical_base(public_base_url)

    def issue(self, asset_id: str, generation: int = 1) -> LabelRef:
        return LabelRef(generation=generation, key_id=self.active_key_id)

    def url(self, asset_id: str, ref: LabelRef) -> str:
        """The label's text. Ed25519 is deterministic: re-rendering gives the same label."""
        key_id = ref.key_id if ref.key_id in self._keys else self.active_key_id
        signature = labels.sign(self._keys[key_id], asset_id, ref.generation, key_id)
        return labels.format_label(self._base, asset_id, ref.generation, key_id, signature)

    def current_url(self, asset_id: str, view: Mapping[str, Any]) -> str | None:
        """The label a laptop's view says is current, or None before it has one."""
        if not view.get("label_generation"):
            return None
        ref = LabelRef(generation=view["label_generation"], key_id=view.get("label_key_id") or self.active_key_id)
        return self.url(asset_id, ref)

    def public_keys(self) -> dict[str, bytes]:
        return {kid: labels.public_key(seed) for kid, seed in self._keys.items()}
