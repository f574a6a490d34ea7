from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator

from events import labels
from services.common.settings import CommonSettings, receipt_code_keyring


class GatewaySettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""

    host: str = "127.0.0.1"
    port: int = 8000
    # What label QR codes point at; the host phones will open.
    public_base_url: str = "http://127.0.0.1:8000"
    # KID:base64url(32-byte Ed25519 seed),… — the first key signs new labels.
    label_signing_keys: SecretStr = SecretStr("")
    # KID:base64url(32 bytes),… — hashes receipt codes (HMAC); the first key makes new hashes.
    receipt_code_keys: SecretStr = SecretStr("")
    # How long an HTTP scan waits for the deciding service before answering 202.
    decision_timeout_s: float = 5.0
    # How long a command waits for Kafka to take it; past that (a broker down or
    # electing) the answer is 503 with Retry-After and the device sends it again.
    kafka_send_timeout_s: float = 5.0
    max_body_bytes: int = 64 * 1024
    # A BAST PDF sent to be verified may be larger (a 5,000-unit BAST is ~0.5 MB).
    max_bast_upload_bytes: int = 20 * 1024 * 1024
    # A worker whose heartbeat is older than this is reported dead.
    worker_stale_s: float = 20.0
    # KID:base64url,… public keys of the audit service's checkpoint signer.
    audit_public_keys: str = ""
    # GET /api/v1/audit/attestations?state=due lists attestations due within this many
    # days. Only how far ahead to look: when one is due is the audit's (its laptop views).
    attestation_due_window_days: float = 14.0

    # Origins (scheme://host[:port], comma-separated) whose pages may call the API from a
    # browser, with credentials. Empty: none; CORS stays closed.
    cors_origins: str = ""
    # Addresses whose X-Forwarded-For / X-Forwarded-Proto are believed (a TLS proxy in
    # front): rate limits count the client it names, not the proxy. "*" trusts any.
    trusted_proxies: str = "127.0.0.1"
    # Rate limits per client address: requests a second on average, and at once.
    rate_scans_per_s: float = Field(default=20.0, gt=0)
    rate_scans_burst: int = Field(default=60, ge=1)
    rate_imports_per_s: float = Field(default=5.0, gt=0)
    rate_imports_burst: int = Field(default=20, ge=1)
    rate_logins_per_s: float = Field(default=0.2, gt=0)
    rate_logins_burst: int = Field(default=10, ge=1)
    rate_requests_per_s: float = Field(default=100.0, gt=0)
    rate_requests_burst: int = Field(default=200, ge=1)

    # An organisation's OpenID Connect provider, by its issuer URL (its discovery document is
    # <issuer>/.well-known/openid-configuration); empty: local accounts only. Register the
    # gateway there as a confidential client whose redirect URI is
    # <public_base_url>/masuk/sso/kembali.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    # The sign-in page's button says "Masuk dengan <this>".
    oidc_display_name: str = Field(default="SSO", min_length=1, max_length=40)
    # Which claims say what (dotted paths reach nested claims, e.g. realm_access.roles).
    # Roles: each value a role, or role:scope (recipient:32.73); a role alone reaches the
    # office claim's code, else everywhere (a recipient official must have an office).
    oidc_roles_claim: str = "serah_roles"
    oidc_office_claim: str = "serah_office"
    oidc_nip_claim: str = "nip"
    oidc_jabatan_claim: str = "jabatan"
    # Only the provider's roles with this prefix are Serah's (e.g. serah-auditor).
    oidc_role_prefix: str = ""

    @model_validator(mode="after")
    def _oidc(self) -> Self:
        if not self.oidc_issuer:
            return self
        parts = urlsplit(self.oidc_issuer)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"SERAH_OIDC_ISSUER: {self.oidc_issuer!r} is not an issuer URL (https://host/path)")
        if not self.oidc_client_id or not self.oidc_client_secret.get_secret_value():
            raise ValueError(
                "SERAH_OIDC_ISSUER is set: set SERAH_OIDC_CLIENT_ID and SERAH_OIDC_CLIENT_SECRET too "
                "(the gateway's client at the provider)"
            )
        return self

    def sso_callback_url(self) -> str:
        return self.public_base_url.rstrip("/") + "/masuk/sso/kembali"

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in filter(None, (o.strip() for o in value.split(","))):
            parts = urlsplit(origin)
            if (
                parts.scheme not in ("http", "https")
                or not parts.netloc
                or origin != f"{parts.scheme}://{parts.netloc}"
            ):
                raise ValueError(
                    f"SERAH_CORS_ORIGINS: {origin!r} is not an origin; list each as scheme://host[:port] "
                    "(no path, no trailing slash, no *)"
                )
        return value

    def cors_origin_list(self) -> list[str]:
        # Browsers send an origin's scheme and host in lower case.
        return [o.strip().lower() for o in self.cors_origins.split(",") if o.strip()]

    def signing_keys(self) -> dict[str, bytes]:
        return labels.parse_keyring(self.label_signing_keys.get_secret_value())

    def receipt_code_keyring(self) -> dict[str, bytes]:
        return receipt_code_keyring(self.receipt_code_keys)
