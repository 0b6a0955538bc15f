"""Each source's monthly extract as the agencies would write it, from the simulated world:
the two registers' rows and the event records (`hearth/synth/world.py` drives them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from hearth.sources import SOURCES
from hearth.synth import params as P
from hearth.synth.dynamics import Population
from hearth.synth.events import BlockEvents
from hearth.synth.population import SEXES, Areas, Households
from hearth.synth.write import (
    codes,
    dates,
    null_strings,
    record_ids,
    take,
    write_landing,
)


def write_addresses(
    out: Path,
    month: str,
    hh: Households,
    areas: Areas,
    hh_pids: pa.Array,
    idx: np.ndarray,
    tenure: np.ndarray,
    ptype: np.ndarray,
    day: np.ndarray,
) -> int:
    lsoa = hh.lsoa[idx]
    ward = areas.lsoa_ward[lsoa]
    cols = {
        "household_pid": take(hh_pids, idx),
        "la_code": codes(areas.la_codes, areas.ward_la[ward]),
        "ward_code": codes(areas.ward_codes, ward),
        "lsoa_code": codes(areas.lsoa_codes, lsoa),
        "imd_decile": pa.array(hh.decile[idx], pa.int64()),
        "property_type": codes(P.PROPERTY_TYPES, ptype[idx]),
        "tenure": codes(P.TENURES, tenure[idx]),
        "updated_date": dates(day),
    }
    return write_landing(out, "addresses", month, cols)


def write_people(
    out: Path,
    month: str,
    pop: Population,
    person_pids: pa.ChunkedArray,
    hh_pids: pa.Array,
    person: np.ndarray,
    household: np.ndarray,
    left: np.ndarray,
    day: np.ndarray,
) -> int:
    cols = {
        "person_pid": take(person_pids, person),
        "household_pid": take(hh_pids, household),
        "birth_year": pa.array(pop.birth_year[person], pa.int64()),
        "sex": codes(SEXES, pop.sex[person]),
        "ethnic_group": codes(P.ETHNIC_GROUPS, pop.eth[person]),
        "status": codes(("RESIDENT", "LEFT_AREA"), left),
        "effective_date": dates(day),
    }
    return write_landing(out, "people", month, cols)


def key_column(column: str, key: np.ndarray) -> pa.Array:
    values = [dict(k.attrs).get(column) for k in P.KEYS]
    return pa.array(values, pa.string()).take(pa.array(key.astype(np.int64)))


def write_events(
    out: Path,
    source: str,
    month: str,
    ev: BlockEvents,
    idx: np.ndarray,
    ev_person: np.ndarray,
    ev_number: np.ndarray,
    person_pids: pa.ChunkedArray,
    hh_pids: pa.Array,
) -> int:
    key = ev.key[idx]
    miss = ev.miss[idx]
    person = np.where((miss == 3) | ((source == "police") & (miss == 1)), -1, ev_person[idx])
    household = np.where((miss == 3) | ((source == "police") & (miss == 2)), -1, ev.h[idx])
    if source == "social_care":
        household = np.where(ev.sc_household[idx], household, -1)
    number = ev_number[idx]
    cols: dict[str, pa.Array] = {}
    for c in SOURCES[source].base_columns:
        if c == "record_id":
            cols[c] = record_ids(P.RECORD_ID_PREFIX[source], number, P.RECORD_ID_DIGITS)
        elif c == "person_pid":
            cols[c] = take(person_pids, person)
        elif c == "household_pid":
            cols[c] = take(hh_pids, household)
        elif c == "event_date":
            cols[c] = dates(ev.day[idx])
        elif c == "event_type":
            cols[c] = pa.array([k.event_type for k in P.KEYS]).take(pa.array(key.astype(np.int64)))
        else:
            cols[c] = key_column(c, key) if idx.size else null_strings(0)
    cols = {
        c: (v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v) for c, v in cols.items()
    }
    return write_landing(out, source, month, cols)
