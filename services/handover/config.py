import math

from pydantic import Field, SecretStr, field_validator

from services.common.settings import CommonSettings, receipt_code_keyring


class HandoverSettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""

    # The BAST (see docs/consignments.md)
    public_base_url: str = "http://127.0.0.1:8000"
    # A BAST number is derived from the consignment id (unique: planned once) and the
    # receipt's seq within it (unique per consignment), so it is unique without a
    # shared counter and the same on every regeneration (it is stored in the event).
    bast_number_pattern: str = "{seq:03d}/BAST/{consignment_id}/{office_code}/{year}"
    bast_place: str = "Jakarta"
    bast_originals: int = 2
    # PIHAK PERTAMA is the official who dispatched the consignment (ConsignmentDispatched),
    # signing for the warehouse named here.
    warehouse_office_name: str = "Gudang Pusat Kementerian"
    # late receipt. Days after dispatch after which a consignment not fully
    # received raises a reminder, once per threshold: "7" or "7,14" (fractions allowed,
    # "0.5" is twelve hours). The sweep looks for such consignments every so many seconds.
    receipt_reminder_days: str = "7,14"
    receipt_reminder_sweep_s: float = Field(default=300.0, gt=0)
    # A receipt of something not yet dispatched, while the allocation service has not decided
    # every command sent before it, is held (202 pending) at most this long, then decided
    # (services/handover/held.py); held receipts are looked at every so many seconds.
    receipt_hold_s: float = Field(default=900.0, gt=0)
    receipt_hold_check_s: float = Field(default=1.0, gt=0)
    # KID:base64url(32 bytes),… — the keys receipt codes were hashed with (HMAC), as the gateway's.
    receipt_code_keys: SecretStr = SecretStr("")

    def receipt_code_keyring(self) -> dict[str, bytes]:
        return receipt_code_keyring(self.receipt_code_keys)

    def receipt_reminder_thresholds(self) -> tuple[float, ...]:
        return _thresholds(self.receipt_reminder_days)

    @field_validator("receipt_reminder_days")
    @classmethod
    def _valid_thresholds(cls, v: str) -> str:
        _thresholds(v)
        return v

    @field_validator("bast_number_pattern")
    @classmethod
    def _unique_numbers(cls, v: str) -> str:
        """Refuse at start-up a pattern that could give two BASTs one number, or does not format."""
        if "{consignment_id" not in v or "{seq" not in v:
            raise ValueError(
                "SERAH_BAST_NUMBER_PATTERN must contain {consignment_id} and {seq} so every BAST number "
                "is unique, e.g. '{seq:03d}/BAST/{consignment_id}/{office_code}/{year}'."
            )
        try:
            v.format(seq=1, office_code="73.71", year=2026, month=1, consignment_id="C-1")
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"SERAH_BAST_NUMBER_PATTERN does not format ({e}); use the fields seq, office_code, year, "
                "month, consignment_id."
            ) from e
        return v


def _thresholds(v: str) -> tuple[float, ...]:
    """ "7,14" -> (7.0, 14.0); refuse anything that is not positive days."""
    try:
        days = tuple(sorted({float(part) for part in v.split(",") if part.strip()}))
    except ValueError:
        days = ()
    if not days or any(not math.isfinite(d) or d <= 0 or d > 3650 for d in days):
        raise ValueError(
            "SERAH_RECEIPT_REMINDER_DAYS must be positive numbers of days separated by commas, "
            f"e.g. '7,14' (got {v!r})."
        )
    return days
