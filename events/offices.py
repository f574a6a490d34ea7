"""Recipient offices: the Kesbangpol office of each of Indonesia's 38 provinces
and 514 regencies/cities, identified by the official Kemendagri region code
(``NN`` for a province, ``NN.NN`` for a regency/city). Source and licence:
``events/data/README.md``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Office:
    code: str
    region_name: str
    level: str  # provinsi, kabupaten or kota
    province_code: str

    @property
    def name(self) -> str:
        if self.level == "provinsi":
            return f"Badan Kesatuan Bangsa dan Politik Provinsi {self.region_name}"
        return f"Badan Kesatuan Bangsa dan Politik {self.region_name}"


@cache
def _table() -> dict[str, Office]:
    with resources.files("events").joinpath("data/wilayah_kabkota.csv").open(encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {row["kode"]: Office(row["kode"], row["nama"], row["tingkat"], row["kode_provinsi"]) for row in rows}


def get(code: str) -> Office | None:
    return _table().get(code)


def all_offices() -> list[Office]:
    return list(_table().values())
