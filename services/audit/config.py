from pydantic import SecretStr

from events import labels
from services.common.settings import CommonSettings


class AuditSettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""

    # --- checkpoints and anomaly rules ---
    # KID:base64url(32-byte Ed25519 seed) of the key that signs checkpoints (one key).
    audit_signing_key: SecretStr = SecretStr("")
    # Seconds between periodic checkpoints (none is taken when no chain moved).
    checkpoint_interval_s: float = 3600.0
    # Seconds between sweeps of the timed rules (late delivery, attestation overdue).
    sweep_interval_s: float = 300.0
    # Anomaly thresholds.
    max_travel_kmh: float = 900.0  # faster than an airliner between two scans: a cloned label
    min_travel_km: float = 50.0  # closer than this is GPS noise, never "travel"
    max_office_distance_km: float = 150.0  # a scan farther than this from the laptop's office
    transit_days: float = 14.0  # dispatched but not received after this many days
    attestation_interval_days: float = 90.0  # from receipt or the last attestation
    repair_days: float = 60.0  # out for repair for longer than this many days
    # JSON file {office code: [lat, lon]} adding to / overriding the built-in
    # province-capital table (events/geo.py); regency offices need it for the distance rule.
    office_locations_file: str = ""

    def checkpoint_key(self) -> tuple[str, bytes] | None:
        ring = labels.parse_keyring(self.audit_signing_key.get_secret_value())
        return next(iter(ring.items()), None)
