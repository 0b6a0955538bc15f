"""The partnership's real identifiers (`hearth synth --identifiers agency`, issue 25): each
agency's raw extract, written outside the landing, and the landing made from it by Hearth's own
`pseudonymise_file` (what `hearth pseudonymise --source --tokens` runs), as the agencies would;
and, under either kind of identifiers, the truth of which household and person each event
record is about (`record_links.parquet`).

The landing written first (world.py, with shared keys) gives each file's rows in order; here
each row's pseudonyms become the raw NHS number and UPRN where the agency holds them
(identity_params.RECORDING), and the person's name, date of birth and address as the agency
recorded them are added. Raw extracts hold made-up identifiers only, and never enter the
landing: `_raw/` sits beside it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from hearth import settings
from hearth.sources import EVENT_SOURCES, SOURCES, landing_file_name
from hearth.synth import identity_params as IP
from hearth.synth import params as P
from hearth.synth.dynamics import Population
from hearth.synth.events import BlockEvents
from hearth.synth.identities import Identities, make_identities, recorded
from hearth.synth.ids import uprns
from hearth.synth.population import Areas, Households
from hearth.synth.write import PARQUET_OPTIONS, record_ids

# Random streams beside world.py's: who people are, then each file's recording errors
# (seed, _RECORDS, source, month).
_IDENTITIES, _RECORDS = 10, 11


IDENTIFIERS = ("shared", "agency")  # shared keys (every agency has them) or the agencies' own


def check_identifiers(identifiers: str, out: Path, raw: Path | None) -> None:
    if identifiers not in IDENTIFIERS:
        raise ValueError(f"identifiers must be one of {', '.join(IDENTIFIERS)}")
    if raw is not None and Path(raw).resolve().is_relative_to(Path(out).resolve()):
        raise ValueError(f"the raw extracts ({raw}) must not be inside the landing ({out})")
    # The raw extracts are the agencies', never the warehouse's: with the landing in HEARTH_HOME
    # (its default place), `_raw` beside it would be inside the home Hearth must never hold them in.
    where = (Path(raw) if raw is not None else Path(out).parent / "_raw").resolve()
    home = settings.hearth_home().resolve()
    if identifiers == "agency" and where.is_relative_to(home):
        raise ValueError(
            f"the raw extracts ({where}) would be inside HEARTH_HOME ({home}): they hold the "
            "agencies' names, dates of birth and identifiers, which Hearth never holds; give "
            "--raw a folder outside it"
        )


@contextmanager
def raw_folder(identifiers: str, raw: Path | None) -> Iterator[Path | None]:
    """Where the agencies' raw extracts are written: `raw` when given (kept there); with the
    agencies' identifiers and no `raw`, a temporary folder outside HEARTH_HOME, deleted once the
    landing is made from it (an agency keeps its raw extract; Hearth never holds it)."""
    if identifiers != "agency" or raw is not None:
        yield raw
        return
    made = Path(tempfile.mkdtemp(prefix="hearth-raw-"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def synthetic_linkage_key(seed: int) -> bytes:
    """The made-up linkage key of a synthetic world: not the identifier key (synthetic_key)."""
    return hashlib.sha256(b"hearth-synthetic-linkage-key:" + str(seed).encode()).digest()


@dataclass
class Written:
    """What world.py wrote, file by file, to rebuild each as the agency's raw extract."""

    events: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # source, month, idx
    people: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)  # month, ...


def _hold(rng: np.random.Generator, present: pl.Series, share: float) -> np.ndarray:
    """Rows where the agency holds the identifier: present in the world's landing (the world's
    own mess removed some) and within the agency's share."""
    return present.is_not_null().to_numpy() & (rng.random(present.len()) < share)


def _raw_ids(values: np.ndarray, keep: np.ndarray) -> pl.Series:
    return pl.Series([str(int(v)) if k else None for v, k in zip(values, keep, strict=True)])


def _rewrite(
    landing: Path,
    raw: Path,
    source: str,
    month: str,
    raw_columns: dict[str, pl.Series],
    key: bytes,
    linkage_key: bytes,
) -> None:
    """Write the raw extract, then make the landing file from it with `pseudonymise_file`."""
    from hearth.privacy.pseudonymise import pseudonymise_file

    name = landing_file_name(source, month)
    dst = landing / source / month / name
    fmt = SOURCES[source].file_format
    base = pl.read_csv(dst, infer_schema=False) if fmt == "csv" else pl.read_parquet(dst)
    frame = base.drop([c for c in ("person_pid", "household_pid") if c in base.columns])
    frame = frame.with_columns(v.alias(k) for k, v in raw_columns.items())
    src = raw / source / month / name
    src.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.write_csv(src)
    else:
        pq.write_table(frame.to_arrow(), src, **PARQUET_OPTIONS)
    ids = {c: p for c, p in (("nhs_number", "person_pid"), ("uprn", "household_pid"))}
    ids = {c: p for c, p in ids.items() if c in raw_columns}
    tokens = {c: k for c, k in IP.RAW_TOKENS.items() if c in raw_columns}
    pseudonymise_file(
        key,
        ids,
        src,
        dst,
        overwrite=True,
        source=source,
        tokens=tokens,
        linkage_key=linkage_key,
    )


def write_agency_extracts(
    landing: Path,
    raw: Path,
    seed: int,
    written: Written,
    ident: Identities,
    ev_h: np.ndarray,
    ev_person: np.ndarray,
    previous: np.ndarray,
    eth: np.ndarray,
    nhs: np.ndarray,
    uprn: np.ndarray,
    key: bytes,
    progress=None,
) -> None:
    """Every event and person-register file rebuilt as its agency's raw extract and made into
    the landing again by `pseudonymise_file` (see the module's docstring)."""
    linkage_key = synthetic_linkage_key(seed)
    steps = len(written.events) + len(written.people)
    done = 0
    for source, month, idx in written.events:
        s = EVENT_SOURCES.index(source)
        rng = np.random.default_rng([seed, _RECORDS, s, int(month.replace("-", ""))])
        rec = IP.RECORDING[source]
        name = landing_file_name(source, month)
        dst = landing / source / month / name
        fmt = SOURCES[source].file_format
        base = pl.read_csv(dst, infer_schema=False) if fmt == "csv" else pl.read_parquet(dst)
        person, household = ev_person[idx], ev_h[idx]
        cols: dict[str, pl.Series] = {}
        if "person_pid" in base.columns and rec.nhs_share > 0:  # police: no NHS numbers
            cols["nhs_number"] = _raw_ids(
                nhs[person], _hold(rng, base["person_pid"], rec.nhs_share)
            )
        if "household_pid" in base.columns:
            keep = _hold(rng, base["household_pid"], rec.uprn_share)
            cols["uprn"] = _raw_ids(uprn[household], keep)
        heard = source == "police"  # as the officer heard and typed it
        got = recorded(rng, rec, ident, person, household, previous[idx], eth, heard)
        wanted = IP.RAW_TOKENS if rec.names else ("postcode", "address_line")
        cols.update({c: pl.Series(c, got[c], dtype=pl.String) for c in wanted})
        _rewrite(landing, raw, source, month, cols, key, linkage_key)
        done += 1
        if progress:
            progress(f"agency extracts: {source} {month}", done / steps)
    rec = IP.RECORDING["people"]
    for month, person, household in written.people:
        rng = np.random.default_rng(
            [seed, _RECORDS, len(EVENT_SOURCES), int(month.replace("-", ""))]
        )
        present = household >= 0
        hh = np.maximum(household, 0)
        got = recorded(rng, rec, ident, person, hh, hh, eth)
        cols = {
            "nhs_number": _raw_ids(nhs[person], np.ones(person.size, dtype=bool)),
            "uprn": _raw_ids(uprn[hh], present),
        }
        for c in IP.RAW_TOKENS:
            values = got[c]
            if c in ("postcode", "address_line"):  # a leaver's address is not the council's
                values = [v if p else None for v, p in zip(values, present, strict=True)]
            cols[c] = pl.Series(c, values, dtype=pl.String)
        _rewrite(landing, raw, "people", month, cols, key, linkage_key)
        done += 1
        if progress:
            progress(f"agency extracts: people {month}", done / steps)


def write_record_links(
    truth: Path,
    written: Written,
    ev_h: np.ndarray,
    ev_person: np.ndarray,
    ev_number: np.ndarray,
    ev_day: np.ndarray,
    hh_pids: pa.Array,
    person_pids: pa.ChunkedArray,
) -> int:
    """truth/record_links.parquet: each event record once (a duplicate row or a late record
    is the same record), with the household it was about on its date and the person."""
    if written.events:
        src = np.concatenate(
            [np.full(i.size, EVENT_SOURCES.index(s)) for s, _, i in written.events]
        )
        idx = np.concatenate([i for _, _, i in written.events])
    else:
        src = idx = np.zeros(0, dtype=np.int64)
    # one row per record: (source, record number) first seen; in source then record-id order
    key = src.astype(np.int64) * 10**13 + ev_number[idx]
    _, first = np.unique(key, return_index=True)
    src, idx = src[first], idx[first]
    rid = pa.chunked_array(
        [
            record_ids(P.RECORD_ID_PREFIX[s], ev_number[idx[src == k]], P.RECORD_ID_DIGITS)
            for k, s in enumerate(EVENT_SOURCES)
        ],
        pa.string(),
    ).combine_chunks()
    sources = pa.array(np.array(EVENT_SOURCES, dtype=object)[src].tolist(), pa.string())
    people = person_pids.combine_chunks()
    table = pa.table(
        {
            "source": sources,
            "record_id": rid,
            "event_date": pa.array(ev_day[idx].astype(np.int32), pa.int32()).cast(pa.date32()),
            "household_pid": hh_pids.take(pa.array(ev_h[idx])),
            "person_pid": people.take(pa.array(ev_person[idx])),
        }
    )
    pq.write_table(table, truth / "record_links.parquet", **PARQUET_OPTIONS)
    return table.num_rows


def agency_world(
    out: Path,
    raw: Path | None,
    seed: int,
    written: Written,
    areas: Areas,
    hh: Households,
    pop: Population,
    origin: np.ndarray,
    events: BlockEvents,
    ev_person: np.ndarray,
    pool: np.ndarray,
    key: bytes,
    last: int,
    report: Callable[[str, float], None],
) -> dict:
    """Names, dates of birth and addresses; each agency's raw extract (under `raw`, default
    `_raw` beside the landing) and its landing."""
    raw = Path(raw) if raw is not None else out.parent / "_raw"
    report("names, dates of birth and postcodes", 0.96)
    rng = np.random.default_rng([seed, _IDENTITIES])
    ident = make_identities(
        rng, areas, hh.lsoa, origin, pop.birth_year, pop.sex, pop.eth, last // 12
    )
    # an earlier address of each record's person: their first household, if they moved since,
    # else one elsewhere (before the extracts began)
    first_hh = origin[ev_person]
    elsewhere = rng.integers(0, hh.n, size=ev_person.size)
    previous = np.where(first_hh != events.h, first_hh, elsewhere)
    write_agency_extracts(
        out,
        raw,
        seed,
        written,
        ident,
        events.h,
        ev_person,
        previous,
        pop.eth,
        pool,
        uprns(hh.n, seed),
        key,
        lambda stage, f: report(stage, 0.96 + 0.03 * f),
    )
    return {
        "raw": str(raw),
        "twins": ident.twins,
        "namesakes": ident.namesakes,
        "surname_changes": ident.surname_changes,
        "recording": {s: asdict(r) for s, r in IP.RECORDING.items()},
        "share_household_surname": IP.SHARE_HOUSEHOLD_SURNAME,
        "twin_share": IP.TWIN_SHARE,
        "namesake_rate": IP.NAMESAKE_RATE,
        "surname_change_rate": IP.SURNAME_CHANGE_RATE,
        "postcode_unit_households": IP.POSTCODE_UNIT_HOUSEHOLDS,
    }
