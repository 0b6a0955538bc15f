"""The data protection officer's evidence pack (`hearth dpia`) and the table of who sees what in
docs/data-protection.md, both made from the data contracts, the warehouse, the audit log and
the published list, never written by hand.

The pack is a folder a DPO can open without a programmer: `index.html` (one paragraph saying
how things stand, then each section) and the CSVs behind it:

- `roles_by_column.csv`: every contract column and the roles that may read it;
- `retention.csv`, `retention_last_run.csv`: each source's oldest record held against its limit,
  and what the newest run deleted because its retention had passed;
- `withheld.csv`: quarantined rows per source and rule, and how many had a value withheld;
- `suppression.csv`: the small-number rule, shown on example counts;
- `audit.txt`: the audit log's verification (hearth/privacy/audit.py `verify`);
- `model_card.md`, `fairness.csv` (with 95% intervals), `sharing.csv` (value of sharing): the
  champion's, as published in `outputs/latest/model/` (its counts already suppressed).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path

from hearth import settings
from hearth.privacy import linkage_evidence
from hearth.privacy.audit import verify
from hearth.quality.contract_model import ROLES
from hearth.quality.contracts import column_roles, load_all
from hearth.quality.retention import last_deletion
from hearth.quality.retention_status import retention_status
from hearth.suppression import SMALL_MAX, suppress
from hearth.warehouse import connect, query

# The block of docs/data-protection.md that is this module's table; `python -m
# hearth.privacy.dpia docs/data-protection.md` writes it again from the contracts.
BEGIN = "<!-- roles-by-column: made by `python -m hearth.privacy.dpia`, do not edit -->"
END = "<!-- end of roles-by-column -->"
MODEL_FILES = ("model_card.md", "fairness.csv", "sharing.csv")
ACCURACY_FIELDS = (
    *("source", "checked_for", "labelled_records", "link_probability_at_least"),
    *("linked", "precision", "recall"),
)
CALIBRATION_FIELDS = (
    *("candidates", "recalibration", "probability_tenth", "links"),
    *("mean_probability", "observed_rate", "observed_rate_95"),
)
SUPPRESSION_EXAMPLES = (0, 1, 7, 8, 12, 13, 102)


class DpiaError(ValueError):
    """Why the pack cannot be made, as a sentence."""


# ---- who sees what ---------------------------------------------------------------------------


def role_table() -> list[dict[str, str]]:
    """One row per contract column: source, column, classification and, per role, `yes` or ``."""
    contracts = load_all()
    rows = []
    for (source, column), roles in column_roles().items():
        c = contracts[source].column(column)
        rows.append(
            {
                "source": source,
                "column": column,
                "classification": c.classification or "",
                **{role: "yes" if role in roles else "" for role in ROLES},
            }
        )
    return rows


def role_table_markdown() -> str:
    head = ["Source", "Column", "Classification", *ROLES]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in role_table():
        cells = [r["source"], f"`{r['column']}`", r["classification"]]
        cells += ["✔" if r[role] else "" for role in ROLES]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sources_markdown() -> str:
    """Each source's retention as its contract says, and the date it is counted from."""
    lines = [
        "| Source | Kept for | Counted from | Owner |",
        "|---|---|---|---|",
    ]
    for source, c in load_all().items():
        lines.append(f"| {source} | {c.retention} | `{c.retention_element}` | {c.owner} |")
    return "\n".join(lines)


def page_with_table(text: str) -> str:
    """The page with its roles-by-column block made again from the contracts."""
    if BEGIN not in text or END not in text:
        raise DpiaError(f"The page has no roles-by-column block ({BEGIN} ... {END}).")
    before, rest = text.split(BEGIN, 1)
    _, after = rest.split(END, 1)
    block = (
        f"{sources_markdown()}\n\nWho may read each column (✔), by role:\n\n{role_table_markdown()}"
    )
    return f"{before}{BEGIN}\n{block}\n{END}{after}"


# ---- the pack ---------------------------------------------------------------------------------


@dataclass
class Pack:
    folder: Path
    summary: str


def _csv(rows: list[dict], fields: Iterable[str] | None = None) -> str:
    fields = list(fields or (rows[0] if rows else []))
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def _html_table(rows: list[dict], empty: str, fields: Iterable[str] | None = None) -> str:
    if not rows:
        return f"<p>{escape(empty)}</p>"
    fields = list(fields or rows[0])
    head = "".join(f"<th>{escape(f.replace('_', ' '))}</th>" for f in fields)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(r.get(f, '')))}</td>" for f in fields) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _published() -> tuple[Path, dict]:
    latest = settings.outputs_dir() / "latest"
    summary_file = latest / "run_summary.json"
    if not summary_file.is_file():
        raise DpiaError(
            f"Nothing has been published in {settings.outputs_dir()} yet: the evidence pack "
            "describes the current list and its model. Run hearth run first."
        )
    return latest.resolve(), json.loads(summary_file.read_text(encoding="utf-8"))


def suppression_rows() -> list[dict[str, str]]:
    """The small-number rule on example counts, computed by the rule itself."""
    return [{"count": str(n), "shown_in_area_tables_as": suppress(n)} for n in SUPPRESSION_EXAMPLES]


def _summary(
    as_of: str,
    model: dict,
    status: list[dict],
    deleted: list[dict],
    withheld: list[dict],
    check,
) -> str:
    over = [s["source"] for s in status if not s["within_retention"]]
    gone = sum(d["rows"] for d in deleted if d["kind"] in ("accepted", "quarantined"))
    kept = (
        "every source is within its retention"
        if not over
        else (
            f"{', '.join(over)} hold{'s' if len(over) == 1 else ''} records older than their "
            "contract allows (the next run deletes them)"
        )
    )
    held = sum(w["rows_quarantined"] for w in withheld)
    hidden = sum(w["rows_with_a_value_withheld"] for w in withheld)
    audit = (
        f"the audit log of re-identifications is intact ({check.entries} entries)"
        if check.intact
        else f"the audit log is NOT intact: {len(check.problems)} problem(s), listed below"
    )
    version = model.get("version")
    return (
        f"This pack describes the list published as of {as_of}"
        + (f", made by model version {version}" if version else "")
        + f". Hearth holds pseudonymised extracts from {len(status)} sources; "
        + f"{kept}; the newest run deleted {gone:,} rows whose retention had passed. "
        + f"{held:,} received rows are held in quarantine, {hidden:,} of them with a value "
        + "withheld (described by its shape, never kept). Each role sees only the columns its "
        + "data contracts give it (the table below); counts of 1 to "
        + f"{SMALL_MAX} in area tables are shown as * and others rounded to 5; {audit}."
    )


def write_pack(out: Path | None = None, overwrite: bool = False) -> Pack:
    """Write the evidence pack for the published list into `out` (default
    HEARTH_HOME/dpia/<as_of>/, replaced), all or nothing."""
    latest, summary = _published()
    as_of = summary.get("as_of") or latest.name
    target = out or settings.hearth_home() / "dpia" / as_of
    if out is not None and target.exists() and any(target.iterdir()) and not overwrite:
        raise DpiaError(f"{target} already holds files; give --overwrite to replace them.")
    warehouse = settings.warehouse_path()
    if not warehouse.is_file():
        raise DpiaError(f"There is no warehouse at {warehouse}: run hearth run first.")
    with connect(warehouse, read_only=True) as con:
        status = retention_status(con)
        deleted = [
            {**d, "cutoff": str(d["cutoff"]), "ran_at": str(d["ran_at"])}
            for d in (last_deletion(con) if _has(con, "retention_log") else [])
            if d["kind"] != "none"
        ]
        withheld = query(con, "publish/dpia_withheld").pl().to_dicts()
    check = verify()
    roles = role_table()
    model = summary.get("model") or {}
    linkage = summary.get("token_linkage")
    text = _summary(as_of, model, status, deleted, withheld, check)
    text += " " + linkage_evidence.sentence(linkage)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        files = {
            "roles_by_column.csv": _csv(roles),
            "retention.csv": _csv(status),
            "retention_last_run.csv": _csv(
                deleted,
                ["source", "kind", "table_name", "rows", "cutoff", "retention_months", "ran_at"],
            ),
            "withheld.csv": _csv(
                withheld, ["source", "rule", "rows_quarantined", "rows_with_a_value_withheld"]
            ),
            "suppression.csv": _csv(suppression_rows()),
            "audit.txt": _audit_text(check),
            "linkage.csv": _csv(linkage_evidence.accuracy_rows(linkage), ACCURACY_FIELDS),
            "linkage_calibration.csv": _csv(
                linkage_evidence.calibration_rows(linkage), CALIBRATION_FIELDS
            ),
        }
        for name, content in files.items():
            (tmp / name).write_text(content, encoding="utf-8")
        model_dir = latest / "model"
        copied = {}
        for name in MODEL_FILES:
            if (model_dir / name).is_file():
                shutil.copyfile(model_dir / name, tmp / name)
                copied[name] = (model_dir / name).read_text(encoding="utf-8")
        page = _page(as_of, text, roles, status, deleted, withheld, check, copied, linkage)
        (tmp / "index.html").write_text(page, encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Pack(target, text)


def _has(con, table: str) -> bool:
    return table in {r[0] for r in query(con, "quality/retention_tables").fetchall()}


def _audit_text(check) -> str:
    if check.intact:
        head = f"; its head is {check.head}" if check.head else ""
        return (
            f"The audit log is intact: {check.entries} entries{head}. Keep the head line "
            "outside Hearth and check later with: hearth audit --verify --expect HEAD\n"
        )
    return "The audit log is NOT intact:\n" + "".join(f"- {p}\n" for p in check.problems)


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(text.splitlines()))


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.45}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "th,td{border:1px solid #bbb;padding:.2rem .5rem;text-align:left}th{background:#eee}"
    "pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}.summary{font-size:1.1rem}"
)


def _page(as_of, text, roles, status, deleted, withheld, check, copied, linkage) -> str:
    contracts = load_all()
    sections = [
        f'<p class="summary" id="summary">{escape(text)}</p>',
        "<h2>Who sees what</h2><p>Each column of each data contract, and the roles whose "
        "views may show it (the contracts' <code>roles</code>; every output is cut to them).</p>",
        _html_table(roles, "No contracts."),
        "<h2>Retention</h2><p>Each source's records are deleted at each run once older than "
        "its contract allows, counted from the date named (an event's date; for a register "
        "row, the day it stopped being true).</p>",
        _html_table(status, "No sources."),
        "<h3>Deleted by the newest run</h3>",
        _html_table(deleted, "Nothing was older than its retention at the newest run."),
        "<h2>Withheld values</h2><p>Rows that broke a rule wait in quarantine; a value not of "
        "its column's declared shape is withheld and kept only as its description.</p>",
        _html_table(withheld, "No rows are in quarantine."),
        "<h2>Suppression of small numbers</h2><p>Counts of households in area tables follow "
        f"the NHS rule: 1 to {SMALL_MAX} is shown as *, others are rounded to the nearest 5.</p>",
        _html_table(suppression_rows(), ""),
        "<h2>Linking records that share no key</h2><p>Records that arrive without an exact "
        "key are linked by keyed-hash tokens; each link carries the probability that it is "
        "right. How often links were right, checked on records that carry an exact key too:</p>",
        _html_table(
            linkage_evidence.accuracy_rows(linkage),
            "Every linked event was linked by an exact key: no link rests on a probability.",
        ),
        "<p>How honest the probabilities are: per tenth of the range, the mean probability "
        "beside the share of links that were right (with its 95% interval: a tenth of a few "
        "dozen links says little), before and after recalibration.</p>",
        _html_table(linkage_evidence.calibration_rows(linkage), "No calibration was needed."),
        "<h2>Audit of re-identification</h2>",
        f"<pre>{escape(_audit_text(check))}</pre>",
        "<h2>Lawful basis and purpose, per source</h2>",
        _html_table(
            [
                {
                    "source": s,
                    "owner": c.owner,
                    "retention": c.retention,
                    "lawful_basis": "; ".join(c.lawful_basis),
                }
                for s, c in contracts.items()
            ],
            "",
        ),
    ]
    if "fairness.csv" in copied:
        sections += [
            "<h2>Fairness by group</h2><p>Each share with its 95% interval (low, high); "
            "counts suppressed as above.</p>",
            _html_table(_csv_rows(copied["fairness.csv"]), "No fairness table."),
        ]
    if "sharing.csv" in copied:
        sections += [
            "<h2>Value of sharing</h2><p>The model, then the same kind of model on one "
            "agency's data alone and on all but one.</p>",
            _html_table(_csv_rows(copied["sharing.csv"]), "No value-of-sharing table."),
        ]
    if "model_card.md" in copied:
        sections += [
            "<h2>Model card of the champion</h2>",
            f"<pre>{escape(copied['model_card.md'])}</pre>",
        ]
    else:
        sections.append("<h2>Model card</h2><p>The published list carries no model card.</p>")
    title = f"Hearth: data protection evidence, as of {escape(as_of)}"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>"
        + "".join(sections)
        + "</body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m hearth.privacy.dpia PAGE`: write PAGE's roles-by-column block again."""

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hearth.privacy.dpia docs/data-protection.md", file=sys.stderr)
        return 2
    page = Path(args[0])
    page.write_text(page_with_table(page.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
