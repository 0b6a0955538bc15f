"""The model section's 'Between months' part: how much of the list stayed since last month and
why it changed, and how far the scores and features have moved from the champion's training
window (the report made by hearth/modelling/scoring/monitoring.py, stored with the run). Counts of
households
follow the small-number rule."""

from __future__ import annotations

from html import escape

from hearth.publish.report.cells import _agg, _pct, _table

CAUSE_WORDS = {
    "new_household": "new to the area's list (or gone from it)",
    "moved": "someone moved in or out",
    "new_records": "new agency records since last month",
    "new_model": "the new model version ranks it differently",
    "no_change_of_its_own": "no change of its own (other households moved past it)",
}
SHARE_WORDS = {"1pct": "top 1%", "5pct": "top 5%"}
PSI_WORDS = (
    "The population stability index (PSI) compares two distributions: under 0.10 is usually "
    "read as stable, 0.10 to 0.25 as a shift worth a look, over 0.25 as a large shift."
)


def _overlap(report: dict) -> str:
    overlap = report.get("overlap")
    if not overlap:
        return (
            "<p>This is the first month with a kept list: there is no last month to compare "
            "with yet.</p>"
        )
    version = (
        f"The model changed since last month (version {report['previous_model_version']} then, "
        f"{report['model_version']} now), so some of the change is the model's."
        if report.get("new_model_version")
        else f"The same model version ({report['model_version']}) scored both months."
    )
    kept = "; ".join(
        f"{_pct(o['share_kept'])} of this month's {SHARE_WORDS.get(name, name)} was in last month's"
        for name, o in overlap.items()
    )
    heads = ["Why it changed"]
    for name in overlap:
        heads += [
            f"Entered the {SHARE_WORDS.get(name, name)}",
            f"Left the {SHARE_WORDS.get(name, name)}",
        ]
    rows = [
        [escape(words)]
        + [_agg(o[way].get(cause, 0)) for o in overlap.values() for way in ("entered", "left")]
        for cause, words in CAUSE_WORDS.items()
    ]
    return (
        f"<p>Against last month's list ({escape(str(report['previous_as_of']))}): "
        f"{escape(kept)}. {escape(version)}</p>"
        + _table(
            heads,
            rows,
            " ".join(f"num-{i}" for i in range(2, len(heads) + 1)),
            "monitoring-overlap",
        )
    )


def _shift(report: dict) -> str:
    if "score_psi" not in report:
        return (
            "<p>The champion's training window is no longer kept, so the shift from it was not "
            "measured this month.</p>"
        )
    rows = [[escape(name), f"{value:.2f}"] for name, value in report.get("most_shifted", [])]
    return (
        f"<p>Against the households the champion was fitted on (as at "
        f"{escape(str(report['reference_as_of']))}): the scores' PSI is "
        f"{report['score_psi']:.2f}, and {report['features_large_shift']} of "
        f"{report['features_compared']} features moved by more than 0.25. "
        f"{escape(PSI_WORDS)}</p>"
        + (
            _table(["Feature (most shifted)", "PSI"], rows, "num-2", "monitoring-features")
            if rows
            else ""
        )
    )


def monitoring_html(report: dict | None) -> str:
    if not report:
        return ""
    return f"<h3>Between months</h3>{_overlap(report)}{_shift(report)}"
