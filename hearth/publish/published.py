"""A folder that is already published: finding it (also while a killed run's commit waits for
recovery), reading its list back, and replacing one sub-folder or file in it at a time, each
written beside its place and renamed in (`hearth publish --role`, `hearth plan`)."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import polars as pl

from hearth.publish.outputs import committed_folder, last_good_folder
from hearth.publish.ranked import with_area_names

# Words for households of a published top that the scoring step left unexplained:
# (the top's rows, the households in the whole list, its run summary) -> the rows with words.
Explainer = Callable[[pl.DataFrame, int, dict], pl.DataFrame]


def replace_path(parent: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Write `parent/name` (a file or a folder) beside its place, then swap it in."""
    tmp = parent / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    try:
        write(tmp)
        final = parent / name
        if final.is_dir() and not final.is_symlink():
            old = parent / f".old-{name}-{uuid.uuid4().hex[:8]}"
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
        return final
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()


def published_folder(outputs: Path, as_of: str | None) -> Path:
    """The folder of the published list for `as_of` (default the latest). While a run that was
    killed as it committed waits for recovery, that is the list its commit is putting in place."""

    folder = committed_folder(outputs, as_of) or outputs / (as_of or "latest")
    if not (folder / "ranked_households.parquet").is_file():
        folder = last_good_folder(outputs, as_of or "latest") or folder
    if not (folder / "ranked_households.parquet").is_file():
        which = f"for {as_of}" if as_of else "yet"
        raise FileNotFoundError(
            f"No published list {which} in {outputs}: run `hearth run` first"
            + (f" or check the month (folders: {_months(outputs)})." if as_of else ".")
        )
    return folder.resolve()


def _months(outputs: Path) -> str:
    names = sorted(p.name for p in outputs.iterdir() if p.is_dir() and p.name[:1].isdigit())
    return ", ".join(names) or "none"


def load_published(folder: Path) -> tuple[pl.DataFrame, dict]:
    # a list published before area names carries its codes as names
    ranked = with_area_names(pl.read_parquet(folder / "ranked_households.parquet"))
    summary = json.loads((folder / "run_summary.json").read_text(encoding="utf-8"))
    return ranked, summary
