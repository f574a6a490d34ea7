from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from events import labels


class CommonSettings(BaseSettings):
    """Read once from SERAH_* environment variables in ``__main__`` and passed down."""

    model_config = SettingsConfigDict(env_prefix="SERAH_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = "serah"
    # KID:base64url,… of Ed25519 public keys trusted to have signed labels.
    label_public_keys: str = ""
    topic_partitions: int = 6
    # Copies of each partition when topics are created: 3 on a cluster of three brokers.
    topic_replication: int = 1
    # How far a device's scan time may be from the server's (events/scantime.py).
    scan_max_ahead_s: float = 300.0
    scan_max_age_days: float = 180.0

    def scan_window(self) -> tuple[timedelta, timedelta]:
        """(max ahead, max age) of a device's scan time."""
        return timedelta(seconds=self.scan_max_ahead_s), timedelta(days=self.scan_max_age_days)

    def public_keys(self) -> dict[str, bytes]:
        return labels.parse_keyring(self.label_public_keys)


def receipt_code_keyring(keys: SecretStr) -> dict[str, bytes]:
    """SERAH_RECEIPT_CODE_KEYS, ``KID:base64url(32 bytes),…``: the first key hashes new
    receipt codes, every key checks them (events/receipt_codes.py). Only the services
    that make or check codes (gateway, handover) are given it, and they do not start
    without it: there is no default key."""
    try:
        ring = labels.parse_keyring(keys.get_secret_value())
    except ValueError as exc:
        raise ValueError(
            f"SERAH_RECEIPT_CODE_KEYS is not a key ring ({exc}); serah receipt-code-key prints one"
        ) from None
    if not ring:
        raise ValueError(
            "no receipt code key configured: set SERAH_RECEIPT_CODE_KEYS (serah receipt-code-key prints one; "
            "see deploy/env.template)"
        )
    return ring
