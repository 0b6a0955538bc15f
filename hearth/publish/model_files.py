"""The champion's card, plots and tables as they are delivered in `outputs/<as_of>/model/`.

The report is drawn from the exact tables and suppresses counts as it shows them; the files that
are handed over follow the same small-number rule (hearth/suppression.py): a fairness
group's counts of households and crises are shown as `*` (1-7) or rounded to 5, and a group too
small to judge carries no shares from which its counts could be worked back."""

from __future__ import annotations

import csv
import shutil
from io import StringIO
from pathlib import Path

from hearth.atomic import write_text_atomically
from hearth.modelling.evaluation.fairness import COUNTS as FAIRNESS_COUNTS
from hearth.modelling.evaluation.fairness import SHARES as FAIRNESS_SHARES
from hearth.modelling.evaluation.metrics import BASELINE_COUNTS
from hearth.suppression import SUPPRESSED, rounded


def _shown(value: str) -> str:
    if value in ("", None):
        return ""
    n = rounded(int(float(value)))
    return SUPPRESSED if n is None else str(n)


def suppressed_fairness(text: str) -> str:
    """fairness.csv with the small-number rule applied to its counts."""
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        return text
    fields = list(rows[0])
    for r in rows:
        small = any(_shown(r.get(c, "")) == SUPPRESSED for c in FAIRNESS_COUNTS if c in r)
        if small or str(r.get("judged", "true")).lower() != "true":
            for c in FAIRNESS_SHARES:
                if c in r:
                    r[c] = ""
        for c in FAIRNESS_COUNTS:
            if c in r:
                r[c] = _shown(r[c])

    out = StringIO()
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def deliver_model_files(src: Path, dst: Path) -> None:
    """Copy the model folder to `dst`, its fairness counts suppressed."""
    shutil.copytree(src, dst, dirs_exist_ok=True)
    fairness = dst / "fairness.csv"
    if fairness.is_file():
        write_text_atomically(fairness, suppressed_fairness(fairness.read_text(encoding="utf-8")))


def suppressed_metrics(metrics: dict[str, float]) -> dict[str, float | None]:
    """The model's metrics for run_summary.json: counts of crises rounded (None for 1-7)."""
    out: dict[str, float | None] = dict(metrics)
    for name in BASELINE_COUNTS:
        if name in out and out[name] is not None:
            out[name] = rounded(int(out[name]))
    return out
