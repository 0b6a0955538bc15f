"""Validation cost at scale: what the quality gate (row rules, raw-identifier scan, GX suites)
costs against the plain work of reading the same files and counting the same things. Run by
hand, never in CI (one heavy benchmark at a time on a shared machine):

    .venv/bin/python -m benchmarks.validation --households 1000000
    .venv/bin/python -m benchmarks.validation --landing /tmp/world/landing   # reuse a world

Measured, all in this one process:

1. the largest single extracts (the registers' baseline snapshots and the newest health
   month): reading as text, the identifier scan, the row rules, and the whole `ingest_extract`
   (with the DuckDB write), against plain DuckDB (load the file typed and count the contract's
   rule violations in SQL) and plain Polars (read the file and count rows);
2. the whole landing tree: `ingest_source` for every source and month (what the ingest step
   does) against a plain DuckDB load of the same files;
3. the expectation checks of a full run (`check_accepted_rows`, GX in DuckDB) on every source's
   accepted rows, against the same counts in plain DuckDB SQL.

Writes benchmarks/results/validation-<date>.json and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from benchmarks.memory import TreeMemory

RESULTS = Path(__file__).resolve().parent / "results"


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _reader(path: Path) -> str:
    """A DuckDB reader for one file or glob, bound as parameter $path."""
    if path.suffix == ".parquet":
        return "read_parquet($path)"
    return "read_csv($path, header = true, all_varchar = true)"


def _typed_select(contract, path: Path) -> str:
    """The file loaded with the contract's types (benchmark only: column names and types come
    from the contract, the file is a bound parameter)."""
    cols = []
    for c in contract.columns:
        t = contract.duckdb_type(c)
        cols.append(f'TRY_CAST("{c.name}" AS {t}) AS "{c.name}"')
    return f"SELECT {', '.join(cols)} FROM {_reader(path)}"


def _rule_counts_sql(contract, table: str) -> str:
    """The contract's row rules and uniqueness as one plain SQL count (benchmark only: the
    predicates are the contract's own, the table a name this script made)."""
    sums = [
        f'count(*) FILTER (WHERE {r.violation_sql}) AS "{r.name}"' for r in contract.row_rules()
    ]
    for c in contract.columns:
        if c.unique:
            sums.append(f'count(*) - count(DISTINCT "{c.name}") AS "unique:{c.name}"')
    return f"SELECT count(*) AS rows, {', '.join(sums)} FROM {table}"


def large_extract(con_path: Path, source: str, month: str, path: Path) -> dict[str, object]:
    from hearth.ingest.files import read_extract
    from hearth.ingest.identifiers import scan_identifiers
    from hearth.ingest.landing import Extract
    from hearth.ingest.load import ingest_extract
    from hearth.ingest.rules import apply_rules
    from hearth.quality.contracts import load_contract
    from hearth.warehouse import connect

    contract = load_contract(source)
    ex = Extract(source, month, path)
    raw, t_read = _timed(lambda: read_extract(ex))
    date_cols = {c.name for c in contract.columns if c.logical_type == "date"}
    pid_cols = {c.name for c in contract.columns if c.pattern}
    _, t_scan = _timed(lambda: scan_identifiers(raw, date_cols, pid_cols))
    outcome, t_rules = _timed(lambda: apply_rules(contract, ex, raw, None))
    con_path.unlink(missing_ok=True)
    with connect(con_path) as con:
        result, t_ingest = _timed(lambda: ingest_extract(con, contract, ex))
    plain = duckdb.connect()
    _, t_duck_load = _timed(
        lambda: plain.execute(
            f"CREATE TABLE t AS {_typed_select(contract, path)}", {"path": str(path)}
        )
    )
    _, t_duck_rules = _timed(lambda: plain.execute(_rule_counts_sql(contract, "t")).fetchall())
    plain.close()
    if path.suffix == ".parquet":
        _, t_polars = _timed(lambda: pl.scan_parquet(path).select(pl.len()).collect())
    else:
        _, t_polars = _timed(
            lambda: pl.scan_csv(path, infer_schema=False).select(pl.len()).collect()
        )
    gate = t_read + t_scan + t_rules
    return {
        "source": source,
        "month": month,
        "file": str(path.name),
        "bytes": path.stat().st_size,
        "rows": raw.height,
        "status": result.status,
        "rows_quarantined": outcome.quarantined.height,
        "seconds": {
            "read_as_text": round(t_read, 3),
            "identifier_scan": round(t_scan, 3),
            "row_rules": round(t_rules, 3),
            "ingest_extract_total": round(t_ingest, 3),
            "plain_duckdb_load_typed": round(t_duck_load, 3),
            "plain_duckdb_rule_counts": round(t_duck_rules, 3),
            "plain_polars_count": round(t_polars, 3),
        },
        "ratio_gate_to_plain_duckdb": round(gate / (t_duck_load + t_duck_rules), 2),
        "ratio_ingest_to_plain_duckdb": round(t_ingest / (t_duck_load + t_duck_rules), 2),
        "identifier_scan_rows_per_second": round(raw.height / t_scan) if t_scan else None,
    }


def whole_tree(landing: Path, work: Path) -> tuple[dict[str, object], Path]:
    from hearth.ingest.run import ingest_source, landing_months
    from hearth.sources import SOURCES
    from hearth.warehouse import connect

    months = landing_months(landing)
    wh = work / "warehouse.duckdb"
    wh.unlink(missing_ok=True)
    per_source: dict[str, float] = {}
    rows: dict[str, int] = {}
    with connect(wh) as con:
        for s in SOURCES:
            report, secs = _timed(lambda s=s: ingest_source(con, landing, s, months))
            per_source[s] = round(secs, 2)
            rows[s] = sum(r.rows_received for r in report.results)
            refused = [r.message for r in report.results if r.status == "refused"]
            if refused:
                raise SystemExit(f"{s}: an extract was refused: {refused[0]}")
    plain = duckdb.connect()
    plain_source: dict[str, float] = {}
    for s in SOURCES:
        files = sorted((landing / s).glob("*/*.*"))
        fmt = SOURCES[s].file_format
        pattern = landing / s / "*" / f"*.{fmt}"
        sql = f"CREATE OR REPLACE TABLE t_{s} AS SELECT * FROM {_reader(pattern)}"
        _, secs = _timed(lambda sql=sql, p=pattern: plain.execute(sql, {"path": str(p)}))
        plain_source[s] = round(secs, 2)
        assert files
    plain.close()
    total, plain_total = sum(per_source.values()), sum(plain_source.values())
    return {
        "months": len(months),
        "rows_received": rows,
        "ingest_seconds": per_source,
        "ingest_seconds_total": round(total, 2),
        "plain_duckdb_load_seconds": plain_source,
        "plain_duckdb_load_seconds_total": round(plain_total, 2),
        "ratio_ingest_to_plain_load": round(total / plain_total, 2),
    }, wh


def expectation_checks(wh: Path) -> dict[str, object]:
    from hearth.quality.contracts import load_contract
    from hearth.quality.suite_check import check_accepted_rows
    from hearth.sources import SOURCES
    from hearth.warehouse import connect

    out: dict[str, object] = {}
    with connect(wh) as con:
        _, t_import = _timed(lambda: __import__("great_expectations"))
        gx_total = plain_total = 0.0
        for s in SOURCES:
            check, secs = _timed(lambda s=s: check_accepted_rows(con, s))
            contract = load_contract(s)
            _, plain_secs = _timed(
                lambda s=s, contract=contract: con.execute(
                    _rule_counts_sql(contract, f"raw_{s}")
                ).fetchall()
            )
            gx_total += secs
            plain_total += plain_secs
            out[s] = {
                "rows": check.rows,
                "passed": check.passed,
                "expectations": len(check.summary.results),
                "gx_seconds": round(secs, 3),
                "plain_duckdb_seconds": round(plain_secs, 3),
            }
    return {
        "gx_import_seconds": round(t_import, 2),
        "by_source": out,
        "gx_seconds_total": round(gx_total, 2),
        "plain_duckdb_seconds_total": round(plain_total, 3),
        "ratio_gx_to_plain_duckdb": round(gx_total / plain_total, 1) if plain_total else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=Path("/tmp/hearth-validation"))
    ap.add_argument("--landing", type=Path, help="Use this landing tree instead of synthesising.")
    ap.add_argument("--keep", action="store_true", help="Keep the work folder afterwards.")
    args = ap.parse_args()

    from hearth.ingest.run import landing_months
    from hearth.sources import REGISTER_SOURCES, landing_file_name

    work = args.work / str(args.households)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    result: dict[str, object] = {
        "date": date.today().isoformat(),
        "households": args.households if not args.landing else None,
        "landing": str(args.landing) if args.landing else "synthesised",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    with TreeMemory() as mem:
        landing = args.landing
        if landing is None:
            from hearth.synth import synthesise

            mem.stage = "synth"
            landing = work / "landing"
            _, secs = _timed(
                lambda: synthesise(
                    landing, work / "_truth", households=args.households, seed=args.seed
                )
            )
            result["synth_seconds"] = round(secs, 1)
            print(f"synth: {secs:.1f} s", flush=True)
        months = landing_months(landing)
        mem.stage = "large_extracts"
        large = []
        picks = [(s, months[0]) for s in REGISTER_SOURCES] + [("health", months[-1])]
        for s, m in picks:
            r = large_extract(work / "one.duckdb", s, m, landing / s / m / landing_file_name(s, m))
            print(json.dumps(r), flush=True)
            large.append(r)
        result["large_extracts"] = large
        mem.stage = "ingest_all"
        tree, wh = whole_tree(landing, work)
        print(json.dumps(tree), flush=True)
        result["whole_landing_tree"] = tree
        mem.stage = "expectation_checks"
        checks = expectation_checks(wh)
        print(json.dumps(checks), flush=True)
        result["expectation_checks"] = checks
    result["peak_memory_mb"] = round(mem.peak / 2**20)
    result["stage_peak_memory_mb"] = {k: round(v / 2**20) for k, v in mem.peaks.items()}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"validation-{result['date']}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
