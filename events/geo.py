"""Approximate office coordinates and great-circle distance, for the audit's
location rules.

There is no geodata in the region list. This table gives, for each of the 38
provinces, the approximate centre of its capital city (where the provincial
Kesbangpol office sits), written by hand to about 0.05° (a few km) — good for
"is this scan hundreds of kilometres away", not for navigation. Regency/city
offices are NOT in it: a regency can lie 500+ km from its province capital, so
using the capital would raise false alarms. Operators add exact coordinates for
any office through a JSON file (``SERAH_OFFICE_LOCATIONS_FILE``); the distance
rule only runs for offices with a known location.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

PROVINCE_CAPITALS: dict[str, tuple[float, float]] = {
    "11": (5.55, 95.32),  # Banda Aceh
    "12": (3.59, 98.67),  # Medan
    "13": (-0.95, 100.35),  # Padang
    "14": (0.51, 101.45),  # Pekanbaru
    "15": (-1.61, 103.61),  # Jambi
    "16": (-2.98, 104.76),  # Palembang
    "17": (-3.80, 102.27),  # Bengkulu
    "18": (-5.43, 105.26),  # Bandar Lampung
    "19": (-2.13, 106.11),  # Pangkalpinang
    "21": (0.92, 104.45),  # Tanjung Pinang
    "31": (-6.18, 106.83),  # Jakarta
    "32": (-6.91, 107.61),  # Bandung
    "33": (-6.99, 110.42),  # Semarang
    "34": (-7.80, 110.36),  # Yogyakarta
    "35": (-7.25, 112.75),  # Surabaya
    "36": (-6.12, 106.15),  # Serang
    "51": (-8.65, 115.22),  # Denpasar
    "52": (-8.58, 116.12),  # Mataram
    "53": (-10.18, 123.61),  # Kupang
    "61": (-0.03, 109.33),  # Pontianak
    "62": (-2.21, 113.92),  # Palangka Raya
    "63": (-3.44, 114.83),  # Banjarbaru (capital since 2022)
    "64": (-0.50, 117.15),  # Samarinda
    "65": (2.84, 117.37),  # Tanjung Selor
    "71": (1.47, 124.84),  # Manado
    "72": (-0.90, 119.87),  # Palu
    "73": (-5.15, 119.43),  # Makassar
    "74": (-3.99, 122.51),  # Kendari
    "75": (0.54, 123.06),  # Gorontalo
    "76": (-2.68, 118.89),  # Mamuju
    "81": (-3.70, 128.18),  # Ambon
    "82": (0.74, 127.56),  # Sofifi
    "91": (-2.53, 140.72),  # Jayapura
    "92": (-0.86, 134.06),  # Manokwari
    "93": (-8.49, 140.40),  # Merauke
    "94": (-3.37, 135.50),  # Nabire
    "95": (-4.10, 138.95),  # Wamena
    "96": (-0.88, 131.26),  # Sorong
}

EARTH_RADIUS_KM = 6371.0088


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine great-circle distance."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def office_locations(extra: Mapping[str, tuple[float, float]] | None = None) -> dict[str, tuple[float, float]]:
    return {**PROVINCE_CAPITALS, **(extra or {})}
