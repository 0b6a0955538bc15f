"""The agency's emission (issue 25), measured by hand, one run at a time, with `nice -n 10`:

    .venv/bin/python -m benchmarks.tokens --rows 100000 --households 10000 --seed 301

1. Throughput of `pseudonymise_file` on a made-up police extract of `--rows` rows: once with
   the UPRN only (today's pseudonyms), once with every token kind too (forename, surname, date
   of birth, postcode, address) under the linkage key; rows per second of each, one run.
2. On a fresh world with the agencies' identifiers (`--households`, 36 months, a seed the tests
   do not use), the share of police records whose surname and date-of-birth tokens agree
   exactly with a register row of their true person (truth/record_links.parquet): what exact
   agreement alone would link, and what the linkage stage must recover. Per ethnic group too
   (naming conventions differ), and for forename, surname and date of birth together.

Writes benchmarks/results/tokens-<date>-<rows>-<households>-seed<seed>.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.run import RESULTS, _commit

ID_KEY = b"benchmark-identifier-key-NOT-REAL-0001"
LINK_KEY = b"benchmark-linkage-key-NOT-REAL-00002"


def police_extract(path: Path, rows: int, seed: int) -> None:
    """A police extract as its system exports it: made-up names of every list, dates of birth
    as typed, postcodes in varying case and spacing, a UPRN for half the rows."""
    from hearth.synth.names import NAMES, STREETS

    rng = np.random.default_rng(seed)
    fore = np.array([n for f, m, _ in NAMES.values() for n in (*f, *m)], dtype=object)
    sur = np.array([n for *_, s in NAMES.values() for n in s], dtype=object)
    days = rng.integers(-25000, 18000, rows).astype("datetime64[D]")
    dob = [f"{d.day:02d}/{d.month:02d}/{d.year}" for d in days.astype(object)]
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    pc = [
        f"{'ABC'[a]}Q{d} {s}{letters[u]}{letters[v]}"
        for a, d, s, u, v in zip(
            rng.integers(0, 3, rows),
            rng.integers(1, 80, rows),
            rng.integers(0, 10, rows),
            rng.integers(0, 20, rows),
            rng.integers(0, 20, rows),
            strict=True,
        )
    ]
    uprn = rng.integers(10**11, 10**12 - 1, rows)
    pl.DataFrame(
        {
            "record_id": [f"PL{i:09d}" for i in range(1, rows + 1)],
            "uprn": [
                str(u) if k else None for u, k in zip(uprn, rng.random(rows) < 0.5, strict=True)
            ],
            "event_date": ["2025-11-14"] * rows,
            "event_type": ["ASB"] * rows,
            "risk_level": [None] * rows,
            "forename": fore[rng.integers(0, fore.size, rows)].tolist(),
            "surname": sur[rng.integers(0, sur.size, rows)].tolist(),
            "date_of_birth": dob,
            "postcode": pc,
            "address_line": [
                f"{n} {STREETS[s]}"
                for n, s in zip(
                    rng.integers(1, 99, rows), rng.integers(0, len(STREETS), rows), strict=True
                )
            ],
        }
    ).write_csv(path)


def throughput(work: Path, rows: int, seed: int) -> dict:
    from hearth.privacy.pseudonymise import pseudonymise_file
    from hearth.synth.identity_params import RAW_TOKENS

    src = work / "police_raw.csv"
    police_extract(src, rows, seed)
    out = {}
    for name, kw in (
        ("pseudonyms_only", {}),
        ("with_tokens", {"tokens": RAW_TOKENS, "linkage_key": LINK_KEY}),
    ):
        t0 = time.perf_counter()
        pseudonymise_file(ID_KEY, {"uprn": "household_pid"}, src, work / f"{name}.csv",
                          source="police", **kw)  # fmt: skip
        seconds = time.perf_counter() - t0
        out[name] = {"seconds": round(seconds, 2), "rows_per_second": round(rows / seconds)}
    return out


def agreement(work: Path, households: int, seed: int) -> dict:
    from hearth.synth import synthesise

    t0 = time.perf_counter()
    synthesise(work / "landing", work / "truth", households, seed, identifiers="agency")
    seconds = time.perf_counter() - t0
    landing = work / "landing"
    links = pl.read_parquet(work / "truth" / "record_links.parquet")
    register = pl.read_parquet(sorted((landing / "people").rglob("*.parquet"))).select(
        "person_pid", "ethnic_group", "given_token", "family_token", "birth_token"
    )
    police = pl.read_csv(sorted((landing / "police").rglob("*.csv")), infer_schema=False)
    pairs = (
        police.select("record_id", "given_token", "family_token", "birth_token")
        .join(links.filter(pl.col("source") == "police"), on="record_id")
        .join(register, on="person_pid", suffix="_reg")
    )
    same = lambda c: pl.col(c) == pl.col(f"{c}_reg")  # noqa: E731
    per_record = pairs.group_by("record_id").agg(
        (same("family_token") & same("birth_token")).fill_null(False).any().alias("surname_dob"),
        (same("given_token") & same("family_token") & same("birth_token"))
        .fill_null(False)
        .any()
        .alias("all_three"),
        pl.col("ethnic_group").last(),
    )
    by_group = (
        per_record.group_by("ethnic_group")
        .agg(pl.len().alias("records"), pl.col("surname_dob").mean(), pl.col("all_three").mean())
        .sort("ethnic_group")
    )
    return {
        "synth_seconds": round(seconds, 1),
        "police_records": per_record.height,
        "police_records_in_truth": links.filter(pl.col("source") == "police").height,
        "share_surname_dob_exact": round(float(per_record["surname_dob"].mean()), 4),
        "share_forename_surname_dob_exact": round(float(per_record["all_three"].mean()), 4),
        "by_ethnic_group": by_group.to_dicts(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--households", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=301)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hearth-tokens-"))
    try:
        result = {
            "date": date.today().isoformat(),
            "commit": _commit(),
            "rows": args.rows,
            "households": args.households,
            "seed": args.seed,
            "pseudonymise": throughput(work, args.rows, args.seed),
            "agreement": agreement(work / "world", args.households, args.seed),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"tokens-{result['date']}-{args.rows}-{args.households}-seed{args.seed}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
