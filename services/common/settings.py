from __future__ import annotations

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

    def public_keys(self) -> dict[str, bytes]:
        return labels.parse_keyring(self.label_public_keys)
