"""Made-up place names for the synthetic world's area names lookup (`landing/reference/areas.csv`,
the file a council fills from the ONS names): one row per local authority, ward and LSOA code,
in the long form of its contract (`data_contracts/reference/areas.yaml`). Names are fixed by
each area's position, so the same world gives the same bytes; none is a real place's name
in England's ONS lists on purpose, though a real name could coincide."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from hearth.sources import REFERENCE_FOLDER, REFERENCES, reference_file_name
from hearth.synth.population import Areas

LA_NAMES = (
    "Northmoor",
    "Easthaven",
    "Westerleigh",
    "Southcombe",
    "Highmere",
    "Lowfold",
    "Brackenridge",
    "Kestrel Vale",
)
WARD_STEMS = (
    "Ashby",
    "Brampton",
    "Coldharbour",
    "Dunmere",
    "Elmstead",
    "Fairholme",
    "Greystone",
    "Hallow",
    "Ingleby",
    "Juniper",
    "Kingsmead",
    "Larkfield",
    "Millbrook",
    "Netherby",
    "Oakwell",
    "Pennyford",
    "Quarry",
    "Rosedale",
    "Sandhurst",
    "Thornbury",
    "Upperton",
    "Willowden",
    "Yarrow",
    "Alder",
)
WARD_ENDS = ("", " Green", " Park", " North", " South", " Vale", " Heath", " Central")


def la_name(i: int) -> str:
    return LA_NAMES[i] if i < len(LA_NAMES) else f"District {i + 1}"


def ward_name(k: int) -> str:
    """The name of the world's k-th ward (0-based, over all local authorities): unique."""
    stem, end = WARD_STEMS[k % len(WARD_STEMS)], k // len(WARD_STEMS)
    if end < len(WARD_ENDS):
        return stem + WARD_ENDS[end]
    return f"{stem} {end + 1}"


def area_rows(areas: Areas) -> list[tuple[str, str, str]]:
    """(area_code, area_type, area_name) for every area of the world, LAs, wards, then LSOAs;
    an LSOA is named as ONS names them, its local authority and a number (Northmoor 001)."""
    rows = [(code, "LA", la_name(i)) for i, code in enumerate(areas.la_codes)]
    rows += [(code, "WARD", ward_name(k)) for k, code in enumerate(areas.ward_codes)]
    lsoa_la = np.asarray(areas.ward_la)[np.asarray(areas.lsoa_ward)]
    seen = [0] * len(areas.la_codes)
    for code, la in zip(areas.lsoa_codes, lsoa_la.tolist(), strict=True):
        seen[la] += 1
        rows.append((code, "LSOA", f"{la_name(la)} {seen[la]:03d}"))
    return rows


def write_area_names(out: Path, areas: Areas) -> Path:
    """Write `out/reference/areas.csv`; returns its path."""
    folder = Path(out) / REFERENCE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / reference_file_name("areas")
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REFERENCES["areas"].columns)
    writer.writerows(area_rows(areas))
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return path
