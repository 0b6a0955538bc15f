"""Writing what people receive: outputs go to a temporary folder first and are moved into
`outputs/<as_of>/` only when complete, so a run that dies leaves the last good outputs."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import polars as pl

PUBLIC_COLUMNS = [
    "rank",
    "household_pid",
    "la_code",
    "ward_code",
    "score",
    "risk_tier",
    "reason_1",
    "reason_2",
    "reason_3",
    "lead_agency",
]


def write_json(path: Path, data: dict) -> None:
    path.write_text(
        json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )


def publish_atomically(outputs: Path, as_of: str, write: Callable[[Path], None]) -> Path:
    """Call `write(folder)` on a fresh temporary folder, then swap it in for
    `outputs/<as_of>` and point `outputs/latest` at it."""
    outputs.mkdir(parents=True, exist_ok=True)
    tmp = outputs / f".tmp-{as_of}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = outputs / as_of
    old = outputs / f".old-{as_of}-{uuid.uuid4().hex[:8]}"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    link_tmp = outputs / f".latest-{uuid.uuid4().hex[:8]}"
    link_tmp.symlink_to(final.name, target_is_directory=True)
    os.replace(link_tmp, outputs / "latest")
    shutil.rmtree(old, ignore_errors=True)
    return final


def clear_stale_temporaries(outputs: Path) -> list[str]:
    """Remove half-written folders left by a run that was killed. A kill between the two
    renames of `publish_atomically` leaves `outputs/<as_of>` missing and the last good folder
    as `.old-<as_of>-<id>`: that folder is put back first. Returns the as-of months restored."""
    restored: list[str] = []
    if outputs.is_dir():
        for p in sorted(outputs.glob(".old-*")):
            as_of = p.name[len(".old-") : -9]  # .old-<as_of>-<8 hex>
            if p.is_dir() and not p.is_symlink() and as_of and not (outputs / as_of).exists():
                p.rename(outputs / as_of)
                restored.append(as_of)
        for p in outputs.iterdir():
            if p.name.startswith((".tmp-", ".old-", ".latest-")):
                if p.is_symlink() or p.is_file():
                    p.unlink()
                else:
                    shutil.rmtree(p, ignore_errors=True)
    return restored


def write_ranked(folder: Path, ranked: pl.DataFrame) -> None:
    ranked.write_parquet(folder / "ranked_households.parquet")
    ranked.select(PUBLIC_COLUMNS).with_columns(pl.col("score").round(6)).write_csv(
        folder / "ranked_households.csv"
    )
