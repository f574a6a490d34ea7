from services.common.settings import CommonSettings


class HandoverSettings(CommonSettings):
    """SERAH_* variables; see deploy/env.template."""

    # issue 4: the BAST (see docs/issue-4.md)
    public_base_url: str = "http://127.0.0.1:8000"
    bast_number_pattern: str = "{seq:03d}/BAST/{office_code}/{year}"
    bast_place: str = "Jakarta"
    bast_originals: int = 2
    warehouse_official_name: str = "Budi Santoso"
    warehouse_official_nip: str = "197501012000031001"
    warehouse_official_jabatan: str = "Kepala Gudang"
    warehouse_office_name: str = "Gudang Pusat Kementerian"
