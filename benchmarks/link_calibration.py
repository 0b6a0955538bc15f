"""Recalibration rules for token links compared on the same candidates (issue 25), read-only on
a warehouse `benchmarks/linkage.py --keep` kept:

    nice -n 10 .venv/bin/python -m benchmarks.link_calibration --keep /work/bench-l100k/s432

The candidates splink gave (link_candidates) are recalibrated by each rule, fitted on the
exact-keyed records' labels as a run fits them, and judged on the records no exact key linked
against `truth/record_links.parquet`: per tenth of the probability, the candidates, the mean
probability, the true rate with its Wilson 95% interval, and the Brier score of the whole group.

- `steps_on_raw`: isotonic on splink's raw probability read as steps (the rule until
  2026-12-06);
- `isotonic_on_raw`: the same fit read on the line between its points;
- `isotonic_on_weight` (the rule until 2026-12-07): isotonic on the match weight, read on the
  line between its points at each block's ends (flat across a block);
- `isotonic_centred_if_unsure` (today's rule, hearth/linkage/recalibration.py: fit_points):
  the same fit, each block read flat to its ends where its rate is known within 0.05 and at its
  centre where it is not (centred isotonic regression there), on the line between points;
- `lead_score` (tried, not kept): best candidates scored by a logistic regression on the match
  weight, the lead over the runner-up and being alone, then isotonic on that score;
- `fitted_on_truth`: today's rule fitted on the keyless records' own truth, each half by a fit
  on the other: what no rule fitted on labels can beat, the noise floor of the tenths.

Nothing is written into the kept folder. Writes benchmarks/results/link-calibration-<date>-
<folder>.json.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from benchmarks.linkage import TARGETS, _max_gap, _tenths
from benchmarks.run import RESULTS, _commit
from hearth.linkage import recalibration

MARGIN_CAP = 30.0  # lead_score: a lead of 30 in match weight is as decisive as any larger one


def _block_ends(x: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    """The isotonic fit's points at each block's first and last score (sklearn's thresholds):
    the reading until 2026-12-07."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y.astype(float))
    return [(float(a), float(b)) for a, b in zip(iso.X_thresholds_, iso.y_thresholds_, strict=True)]


def _isotonic(
    x: np.ndarray, y: np.ndarray, at: np.ndarray, steps: bool, todays: bool = False
) -> np.ndarray:
    pts = recalibration.fit_points(x, y) if todays else _block_ends(x, y)
    if not steps:
        return recalibration.apply_points(at, pts)
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    return ys[np.clip(np.searchsorted(xs, at, side="right") - 1, 0, len(ys) - 1)]


def with_lead(candidates: pl.DataFrame) -> pl.DataFrame:
    """lead_score's inputs: `margin` (a candidate's weight less the next candidate's of the same
    record, capped at MARGIN_CAP; 0 for the last) and `alone` (the record has one candidate)."""
    nxt = pl.col("weight").shift(-1).over("source", "record_id")
    return candidates.sort("source", "record_id", "rank").with_columns(
        margin=pl.when(nxt.is_null())
        .then(0.0)
        .otherwise(pl.min_horizontal(pl.col("weight") - nxt, pl.lit(MARGIN_CAP))),
        alone=(pl.col("rank").max().over("source", "record_id") == 1).cast(pl.Float64),
    )


def _lead_score(fit_on: pl.DataFrame, at: pl.DataFrame) -> np.ndarray:
    """Tried and not kept: isotonic on a logistic regression's log-odds on the weight, the lead
    over the runner-up and being alone (best candidates)."""
    from sklearn.linear_model import LogisticRegression

    cols = ("weight", "margin", "alone")
    y = fit_on["person_label"].to_numpy().astype(int)
    model = LogisticRegression(C=1.0, max_iter=5000).fit(fit_on.select(cols).to_numpy(), y)
    return _isotonic(
        model.decision_function(fit_on.select(cols).to_numpy()),
        y,
        model.decision_function(at.select(cols).to_numpy()),
        steps=False,
    )


def rules(cands: pl.DataFrame) -> dict[str, np.ndarray]:
    """Each rule's probability for every candidate of `cands` (with_lead, truth joined)."""
    out = {name: cands["raw_probability"].to_numpy().astype(float).copy() for name in RULES}
    out["isotonic_centred_if_unsure"] = recalibration.recalibrated(cands, recalibration.fit(cands))
    keyless = (cands["needs_link"] & cands["true_person"].is_not_null()).to_numpy()
    half = (cands["record_id"].hash(11) % 2).to_numpy()
    for which in recalibration.WHICH:
        is_best = (cands["rank"] == 1).to_numpy()
        group = is_best if which == "best" else ~is_best
        lab = group & cands["person_label"].is_not_null().to_numpy()
        y = cands["person_label"].to_numpy()[lab].astype(float)
        raw = cands["raw_probability"].to_numpy()
        out["steps_on_raw"][group] = _isotonic(raw[lab], y, raw[group], steps=True)
        out["isotonic_on_raw"][group] = _isotonic(raw[lab], y, raw[group], steps=False)
        w = cands["weight"].to_numpy()
        out["isotonic_on_weight"][group] = _isotonic(w[lab], y, w[group], steps=False)
        if which == "best":
            out["lead_score"][group] = _lead_score(
                cands.filter(pl.Series(lab)), cands.filter(pl.Series(group))
            )
        else:
            out["lead_score"][group] = out["isotonic_on_weight"][group]
        right = cands["right_person"].to_numpy().astype(float)
        for k in (0, 1):
            fit_on, at = group & keyless & (half != k), group & keyless & (half == k)
            out["fitted_on_truth"][at] = _isotonic(
                w[fit_on], right[fit_on], w[at], steps=False, todays=True
            )
    return out


RULES = (
    "steps_on_raw",
    "isotonic_on_raw",
    "isotonic_on_weight",
    "isotonic_centred_if_unsure",
    "lead_score",
    "fitted_on_truth",
)


def measure(folder: Path) -> dict[str, object]:
    with duckdb.connect(str(folder / "w.duckdb"), read_only=True) as con:
        cands = con.sql(
            "SELECT source, record_id, needs_link, rank, weight, raw_probability, "
            "link_probability, person_label, person_pid FROM link_candidates"
        ).pl()
    truth = pl.read_parquet(folder / "truth" / "record_links.parquet").select(
        "source", "record_id", pl.col("person_pid").alias("true_person")
    )
    cands = with_lead(
        cands.join(truth, on=["source", "record_id"], how="left").with_columns(
            right_person=pl.col("person_pid") == pl.col("true_person")
        )
    )
    probs = rules(cands)
    probs["as_linked"] = cands["link_probability"].to_numpy().astype(float)
    judged = (cands["needs_link"] & cands["true_person"].is_not_null()).to_numpy()
    out: dict[str, object] = {}
    for which in recalibration.WHICH:
        sel = judged & ((cands["rank"] == 1) == (which == "best")).to_numpy()
        y = cands["right_person"].to_numpy()[sel].astype(float)
        per: dict[str, object] = {"candidates": int(sel.sum())}
        for name, p in probs.items():
            table = _tenths(p[sel], y)
            per[name] = {
                "brier": round(float(np.mean((p[sel] - y) ** 2)), 6),
                "max_gap": _max_gap(table),
                "max_gap_beyond_interval": _max_gap(table, key="gap_beyond_interval"),
                "tenths": table,
            }
        out[which] = per
    return {
        "benchmark": "link_calibration",
        "date": date.today().isoformat(),
        "commit": _commit(),
        "folder": str(folder),
        "labelled_best": int(
            cands.filter((pl.col("rank") == 1) & pl.col("person_label").is_not_null()).height
        ),
        "target_gap": TARGETS["calibration"],
        "keyless_against_truth": out,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, required=True, help="A folder linkage.py --keep kept.")
    ap.add_argument("--name", help="The result's name (default: the folder's).")
    args = ap.parse_args()
    if not (args.keep / "w.duckdb").exists():
        ap.error("--keep must name a folder benchmarks/linkage.py kept (with its w.duckdb)")
    out = measure(args.keep)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"link-calibration-{out['date']}-{args.name or args.keep.name}.json"
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    for which, per in out["keyless_against_truth"].items():  # type: ignore[union-attr]
        for name in (*RULES, "as_linked"):
            r = per[name]
            print(
                f"{which:9s} {name:16s} brier {r['brier']:.6f} max gap {r['max_gap']} "
                f"beyond interval {r['max_gap_beyond_interval']}"
            )
    print(f"Wrote {path}")


if __name__ == "__main__":
    main()
