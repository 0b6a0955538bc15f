"""Writing what people receive: outputs go to a temporary folder first and are moved into
`outputs/<as_of>/` only when complete, so a run that dies leaves the last good outputs."""

from __future__ import annotations

import json
import math
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import polars as pl

from hearth import settings
from hearth.atomic import read_record
from hearth.publish.ranked import PUBLIC_COLUMNS
from hearth.publish.roles import role_view


def _strict(value: object) -> object:
    """A figure with no finite value (an interval with no upper limit, a ratio of nothing) as
    null: JSON has no Infinity or NaN, and a strict reader refuses the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def write_json(path: Path, data: dict) -> None:
    text = json.dumps(_strict(data), indent=2, sort_keys=False, default=str, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def prepare_outputs(outputs: Path, as_of: str, write: Callable[[Path], None]) -> Path:
    """Call `write(folder)` on a fresh hidden folder beside `outputs/<as_of>` and return it,
    complete; a failure removes it. A run's commit swaps it in (`swap_in`)."""
    outputs.mkdir(parents=True, exist_ok=True)
    tmp = outputs / f".tmp-{as_of}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        write(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def old_name(as_of: str) -> str:
    """Where `swap_in` parks the folder it replaces until the new one is in place."""
    return f".old-{as_of}-{uuid.uuid4().hex[:8]}"


def publish_atomically(outputs: Path, as_of: str, write: Callable[[Path], None]) -> Path:
    """Call `write(folder)` on a fresh temporary folder, then swap it in for
    `outputs/<as_of>` and point `outputs/latest` at it (outside a run's commit)."""
    tmp = prepare_outputs(outputs, as_of, write)
    return swap_outputs(outputs, as_of, tmp, outputs / old_name(as_of))


def swap_outputs(
    outputs: Path, as_of: str, prepared: Path, old: Path, between: Callable[[], None] = lambda: None
) -> Path:
    """Put a prepared folder in place of `outputs/<as_of>` and point `outputs/latest` at it.
    Safe to call again after a kill at any point (a commit being rolled forward): each rename
    is done only if it has not been done yet. `between` runs between the two renames (a test
    hook of the run's commit, hearth/operations/commit.py)."""
    final = outputs / as_of
    if prepared.exists():
        if final.exists():
            final.rename(old)
            between()
        prepared.rename(final)
    if final.exists():
        link_tmp = outputs / f".latest-{uuid.uuid4().hex[:8]}"
        link_tmp.symlink_to(final.name, target_is_directory=True)
        os.replace(link_tmp, outputs / "latest")
    shutil.rmtree(old, ignore_errors=True)
    return final


def committed_folder(outputs: Path, as_of: str | None) -> Path | None:
    """The list a committed run is putting in place (its commit record exists, so it is the
    last good list) while it is not in place yet: a run killed mid-commit leaves it so until
    the next run rolls it forward. `as_of` None asks for the latest."""
    journal = read_record(settings.warehouse_path().parent / settings.COMMIT_RECORD) or {}
    out = journal.get("outputs") or {}
    if not out or Path(out.get("root", "")).resolve() != outputs.resolve():
        return None
    if as_of not in (None, out.get("as_of")):
        return None
    for p in (outputs / out["prepared"], outputs / out["as_of"]):
        if (p / "ranked_households.parquet").is_file():
            return p
    return None


def last_good_folder(outputs: Path, name: str) -> Path | None:
    """The parked folder of the last good list for `name` (an as-of month or "latest") when a
    swap outside a run's commit was cut off between its two renames."""
    link = outputs / name
    as_of = os.readlink(link) if link.is_symlink() else name
    parked = sorted(outputs.glob(f".old-{as_of}-*"), key=lambda p: p.stat().st_mtime)
    for p in reversed(parked):
        if (p / "ranked_households.parquet").is_file():
            return p
    return None


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


VIEW_ROWS = 50_000  # households put in the commissioners' view at a time


def write_ranked(folder: Path, ranked: pl.DataFrame) -> None:
    """`ranked_households.parquet`, the intelligence officer's working copy (every role's
    words, from which each view is made: it stays inside HEARTH_HOME's outputs), and
    `ranked_households.csv`, every household in the commissioners' view (the contracts'
    commissioner columns and words: no person pseudonym, record id, clinical detail or police
    risk level), the list that may go round the partnership."""
    ranked.write_parquet(folder / "ranked_households.parquet")
    # a chunk of households at a time: the view reads each household's words as Python
    # values, gigabytes for a million at once (the file is the same either way)
    with open(folder / "ranked_households.csv", "wb") as out:
        for start in range(0, max(ranked.height, 1), VIEW_ROWS):
            view = role_view(ranked.slice(start, VIEW_ROWS), "commissioner")
            view.select([c for c in PUBLIC_COLUMNS if c in view.columns]).with_columns(
                pl.col("score").round(6)
            ).write_csv(out, include_header=start == 0)
