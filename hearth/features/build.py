"""Household features and labels as of a date, from the linked warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from hearth.atomic import write_atomically
from hearth.features.catalogue import NO_EVENT_MONTHS, Catalogue, load_catalogue
from hearth.features.design import Design, history_months, require_history
from hearth.features.windows import rate_scale
from hearth.months import add_months, month_start
from hearth.warehouse import query, query_one

# Who and where, not model inputs: kept beside the features for publishing and fairness.
ID_COLUMNS = ["household_pid", "la_code", "ward_code", "lsoa_code", "ethnic_group"]


def as_of_params(as_of: str) -> dict[str, object]:
    return {"as_of": month_start(as_of), "as_of_month": as_of}


def _load_event_map(con: duckdb.DuckDBPyConnection, cat: Catalogue) -> None:
    frame = pl.DataFrame(
        {
            "event_code": [c for c, _ in cat.event_codes],
            "feature_key": [k for _, k in cat.event_codes],
        }
    )
    con.register("feature_event_map", frame)


def _event_columns(
    cat: Catalogue, households: pl.Series, counts: pl.DataFrame, history: int
) -> pl.DataFrame:
    """Spread the long (household, feature key, statistics) counts into one column per
    catalogue feature, in the households' order: a scatter into arrays, far cheaper than a
    pivot on a million households. A window longer than 2 years is kept as a rate over the
    `history` months there are (`rate_scale`); the themes add up the rates."""
    keys = [f.key for f in cat.features if f.kind == "recency" and not f.members]
    n, slot = len(households), {k: i for i, k in enumerate(keys)}
    rows = pl.DataFrame({"household_pid": households}).with_row_index("row")
    hits = counts.join(rows, on="household_pid", how="inner").filter(
        pl.col("feature_key").is_in(keys)
    )
    r = hits["row"].to_numpy()
    c = hits["feature_key"].replace_strict(slot, return_dtype=pl.Int64).to_numpy()
    scale = {f"c{w}": rate_scale(w, history) for w in cat.windows}
    stats = {f"c{w}": (f"_{w}m", 0.0) for w in cat.windows} | {
        "trend": ("_trend", 0.0),
        "months_since": ("_months_since", float(NO_EVENT_MONTHS)),
    }
    columns: dict[str, np.ndarray] = {}
    for stat, (suffix, empty) in stats.items():
        grid = np.full((n, len(keys)), empty, dtype=np.float32)
        if stat == "trend":
            grid[r, c] = (hits["c12"] - hits["c12_before"]).to_numpy()
        elif scale.get(stat, 1.0) != 1.0:
            grid[r, c] = (hits[stat] * scale[stat]).to_numpy()
        else:
            grid[r, c] = hits[stat].to_numpy()
        for key, i in slot.items():
            columns[f"{key}{suffix}"] = grid[:, i]
    return pl.DataFrame(columns)


def theme_columns(cat: Catalogue, agencies: set[str] | None = None) -> list[pl.Expr]:
    """Each theme's counts and "months since" from its member event features, over the
    records of `agencies` only if given (the value-of-sharing models). A theme with no member
    among those agencies reads as no records."""
    exprs = []
    for theme in cat.themes:
        keys = cat.theme_members(theme, agencies)
        for w in cat.windows:
            total = pl.sum_horizontal([pl.col(f"{k}_{w}m") for k in keys]) if keys else pl.lit(0)
            exprs.append(total.cast(pl.Float32).alias(f"{theme}_{w}m"))
        latest = (
            pl.min_horizontal([pl.col(f"{k}_months_since") for k in keys])
            if keys
            else pl.lit(NO_EVENT_MONTHS)
        )
        exprs.append(latest.cast(pl.Float32).alias(f"{theme}_months_since"))
    return exprs


def recording_columns(cat: Catalogue, wide: pl.DataFrame) -> pl.DataFrame:
    """The catalogue's `recording` features: each agency's records of every kind for the
    household in the last 12 months, then their mean over the households of its ward and of
    its authority (the rate the area records at, from the data at this date)."""
    own = [(name, agency) for name, agency, area in cat.recording if area is None]
    wide = wide.with_columns(
        pl.sum_horizontal(
            [
                pl.col(f.name)
                for f in cat.features
                if f.kind == "count" and not f.members and f.agency == agency and f.window == 12
            ]
        ).alias(name)
        for name, agency in own
    )
    return wide.with_columns(
        pl.col(f"{agency}_records_12m").mean().over(area).alias(name)
        for name, agency, area in cat.recording
        if area is not None
    )


def _confidence_columns(
    con: duckdb.DuckDBPyConnection, cat: Catalogue, households: pl.Series, params: dict
) -> pl.DataFrame:
    """Each `link_confidence` feature, in the households' order: the share of the expected count
    of its sources' records in the window that was linked with less than high confidence; 0 for
    a household with none of those records (nothing in the window rests on an uncertain link)."""
    conf = cat.confidence
    wanted = [f for f in cat.features if f.kind == "confidence"]
    shares = query(
        con, "features/link_confidence", params | {"high": conf.high, "window": conf.window}
    ).pl()
    frame = pl.DataFrame({"household_pid": households})
    columns = []
    for f in wanted:
        part = (
            shares.filter(pl.col("source").is_in(f.uses))
            .group_by("household_pid")
            .agg(pl.col("uncertain").sum(), pl.col("expected").sum())
            .select("household_pid", (pl.col("uncertain") / pl.col("expected")).alias(f.name))
        )
        got = frame.join(part, on="household_pid", how="left", maintain_order="left")
        columns.append(got[f.name].fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0))
    return pl.DataFrame(columns, schema={f.name: pl.Float64 for f in wanted})


def build_features(con: duckdb.DuckDBPyConnection, as_of: str) -> pl.DataFrame:
    """One row per household living in the area at `as_of`, one column per catalogue feature
    (in catalogue order) plus the identifying columns. Only the past counts."""
    cat = load_catalogue()
    params = as_of_params(as_of)
    base = query(con, "features/household_base", params).pl()
    _load_event_map(con, cat)
    counts = query(con, "features/event_counts", params).pl()
    confidence = _confidence_columns(con, cat, base["household_pid"], params)
    con.unregister("feature_event_map")
    events = _event_columns(cat, base["household_pid"], counts, history_months(con, as_of))
    wide = base.hstack(events).hstack(confidence)
    wide = wide.with_columns(theme_columns(cat))
    agencies_12m = [
        pl.sum_horizontal(
            [
                pl.col(f.name)
                for f in cat.features
                if f.kind == "count" and f.agency == a and f.window == 12
            ]
        )
        > 0
        for a in cat.agencies
    ]
    wide = wide.with_columns(
        # 12-month windows: every model has at least that much history, so these mean the
        # same at its training date and at every later one
        ((pl.col("smoker_recorded_12m") > 0) & (pl.col("smoke_alarm_fitted_12m") == 0))
        .cast(pl.Int64)
        .alias("smoker_without_alarm"),
        (
            (
                pl.col("domestic_abuse_12m")
                + pl.col("domestic_abuse_medium_12m")
                + pl.col("domestic_abuse_high_12m")
                > 0
            )
            & (pl.col("children") > 0)
        )
        .cast(pl.Int64)
        .alias("abuse_with_children"),
        pl.sum_horizontal([e.cast(pl.Int64) for e in agencies_12m]).alias("agencies_involved_12m"),
    )
    wide = recording_columns(cat, wide)
    return (
        wide.select(ID_COLUMNS + cat.names)
        # expected counts from probabilities below 1 keep float32's 7 digits; half the memory
        .with_columns(pl.col(cat.names).cast(pl.Float32))
        .sort("household_pid")
    )


def build_labels(con: duckdb.DuckDBPyConnection, households: pl.Series, as_of: str) -> pl.Series:
    """For each household given, 1 if it had a crisis in the 12 months from `as_of`."""
    crises = query(con, "features/labels", as_of_params(as_of)).pl()
    frame = pl.DataFrame({"household_pid": households}).join(crises, on="household_pid", how="left")
    return (frame["crises"].fill_null(0) > 0).cast(pl.Int8).alias("crisis_12m")


def label_window_end(as_of: str) -> str:
    return add_months(as_of, 12)


def features_folder(con: duckdb.DuckDBPyConnection) -> Path:
    """Feature sets are Parquet files in `features/` beside the warehouse file: a million
    households by 300 features is written ten times faster than into a DuckDB table, and
    analysts can still query them (`FROM 'features/features_2026-01.parquet'`)."""
    return Path(query_one(con, "warehouse/database_path")[0]).parent / "features"


def features_folders(con: duckdb.DuckDBPyConnection) -> list[Path]:
    """Where `load_window` reads feature sets: the warehouse's `features/` folder, or, on a
    union of warehouses (hearth/warehouse.py: union_of, a partnership's model trained on every
    authority's households), each attached warehouse's, in order."""
    parts = [Path(p) for (p,) in query(con, "warehouse/union_paths").fetchall()]
    return [p.parent / "features" for p in parts] or [features_folder(con)]


def _write_atomically(frame: pl.DataFrame, path: Path) -> None:
    write_atomically(path, frame.write_parquet)


def build_feature_sets(con: duckdb.DuckDBPyConnection, design: Design) -> dict[str, int]:
    """Features at the three dates and labels at the two that have them, kept beside the
    warehouse (see `features_folder`), replacing the last run's."""
    require_history(con, design)
    folder = features_folder(con)
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    # Written as each date is built: a million households by 350 features is 1.4 GB a date.
    for as_of in (design.train_as_of, design.valid_as_of, design.score_as_of):
        f = build_features(con, as_of)
        rows[as_of] = f.height
        if as_of != design.score_as_of:
            y = build_labels(con, f["household_pid"], as_of)
            labels = pl.DataFrame({"household_pid": f["household_pid"], "crisis_12m": y})
            _write_atomically(
                labels.with_columns(pl.lit(as_of).alias("as_of")),
                folder / f"labels_{as_of}.parquet",
            )
        _write_atomically(
            f.with_columns(pl.lit(as_of).alias("as_of")), folder / f"features_{as_of}.parquet"
        )
        del f
    return rows


def load_features(
    con: duckdb.DuckDBPyConnection, as_of: str, columns: list[str]
) -> pl.DataFrame | None:
    """Only `columns` of the features at `as_of`, in the order kept (not sorted: a million
    households by every feature, sorted, is two copies), or None when one of them is not kept
    (a window built by an older catalogue). FileNotFoundError when the window is not kept."""
    path = features_folder(con) / f"features_{as_of}.parquet"
    if not path.exists():
        raise FileNotFoundError(path)
    if any(c not in pl.read_parquet_schema(path) for c in columns):
        return None
    return pl.read_parquet(path, columns=columns)


def load_window(con: duckdb.DuckDBPyConnection, as_of: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Features at `as_of` (and its labels, empty for the scoring date), ordered by household.
    On a union of warehouses, every attached warehouse's households (`features_folders`)."""
    folders = features_folders(con)
    feats = _concat([pl.read_parquet(f / f"features_{as_of}.parquet") for f in folders])
    label_files = [f / f"labels_{as_of}.parquet" for f in folders]
    labels = (
        _concat([pl.read_parquet(f) for f in label_files if f.exists()]).drop("as_of")
        if any(f.exists() for f in label_files)
        else pl.DataFrame(schema={"household_pid": pl.String, "crisis_12m": pl.Int8})
    )
    feats = feats.drop("as_of")
    # kept sorted by household (`build_feature_sets`): sorting again would copy every feature
    return (feats if feats["household_pid"].is_sorted() else feats.sort("household_pid")), labels


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One warehouse's frame as it is; several matched by column name (a feature one
    authority's history could not build is null in the others' rows)."""
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
