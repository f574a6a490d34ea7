from pydantic import field_validator

from services.common.settings import CommonSettings


class HandoverSettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""

    # issue 4: the BAST (see docs/issue-4.md)
    public_base_url: str = "http://127.0.0.1:8000"
    # A BAST number is derived from the consignment id (unique: planned once) and the
    # receipt's seq within it (unique per consignment), so it is unique without a
    # shared counter and the same on every regeneration (it is stored in the event).
    bast_number_pattern: str = "{seq:03d}/BAST/{consignment_id}/{office_code}/{year}"
    bast_place: str = "Jakarta"
    bast_originals: int = 2
    warehouse_official_name: str = "Budi Santoso"
    warehouse_official_nip: str = "197501012000031001"
    warehouse_official_jabatan: str = "Kepala Gudang"
    warehouse_office_name: str = "Gudang Pusat Kementerian"

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
