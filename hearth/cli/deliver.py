"""`hearth publish`, `hearth plan`, `hearth reidentify` and `hearth audit`: what commissioners
and partner agencies receive, from a run that is already published."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hearth import settings
from hearth.cli.console import console, err, fail, say
from hearth.months import MonthError, parse_month
from hearth.operations.runlock import run_lock
from hearth.privacy.audit import verify as verify_log
from hearth.privacy.pseudonymise import PseudonymiseError
from hearth.privacy.reidentify import ReidentifyError, audit_entries, reidentify
from hearth.publish.capacity import CapacityError
from hearth.publish.plans import plan_published
from hearth.publish.published import published_folder
from hearth.publish.ranked import publish_top
from hearth.publish.role_files import publish_roles
from hearth.quality.contracts import ROLES

ROLE_HELP = "Role: " + " | ".join(ROLES) + "."
AS_OF_HELP = "Published month, YYYY-MM (default: the latest)."
TOP_HELP = "Published top of the list: a share (0.05 = top 5%) or a number of households."


def _run_lock(what: str):
    """Changes to a published folder wait for a run in progress, which may swap it out."""

    return run_lock(settings.warehouse_path().parent, what, say)


def _folder(as_of: str | None) -> Path:

    try:
        month = None if as_of is None else parse_month(as_of, "published month (--as-of)")
        return published_folder(settings.outputs_dir(), month)
    except (FileNotFoundError, MonthError) as e:
        fail(str(e))


def _top(top: float | None) -> float:

    value = publish_top() if top is None else top
    if value <= 0:
        fail("--top must be a share above 0 (e.g. 0.05) or a number of households (e.g. 2000).")
    return value


def _explainer():
    """Words for the households of a longer list than the scoring step explained, from the
    model version that scored it and the month's kept features (a sentence if either is
    gone); what it cost, said."""
    import time

    from hearth.modelling.scoring.on_demand import (  # sklearn, mlflow
        Unexplainable,
        explain_published,
        unexplained,
    )

    def explain(rows, n, summary):
        missing = len(unexplained(rows))
        if not missing:
            return rows
        say(
            f"Explaining {missing:,} households beyond the ranks the run explained "
            f"(model version {(summary.get('model') or {}).get('version')})..."
        )
        t = time.perf_counter()
        try:
            out = explain_published(rows, n, summary)
        except Unexplainable as e:
            fail(str(e))
        say(f"Explained {missing:,} households in {time.perf_counter() - t:,.1f} s.")
        return out

    return explain


def publish_command(
    role: Annotated[
        list[str] | None, typer.Option("--role", help=ROLE_HELP + " Repeat; default all.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    top: Annotated[float | None, typer.Option("--top", help=TOP_HELP)] = None,
) -> None:
    """Write each role's view of a published list: roles/<role>/ranked_households.csv/.xlsx,
    with only the columns and reasons that role may see."""

    roles = tuple(role or ROLES)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        fail(f"Unknown role {unknown[0]!r}: choose one of {', '.join(ROLES)}.")
    folder = _folder(as_of)
    with _run_lock("hearth publish --role"):
        paths = publish_roles(folder, roles, _top(top), _explainer())
    for path in paths:
        console.print(f"Wrote {path}/ranked_households.csv and .xlsx", highlight=False)


def plan_command(
    capacity: Annotated[
        Path, typer.Option("--capacity", help="Teams and visits per month (YAML).")
    ],
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    top: Annotated[float | None, typer.Option("--top", help=TOP_HELP)] = None,
) -> None:
    """Split the top of a published list into each team's visit plan (plans/), one team per
    household, and show the precision to expect at each team's capacity."""
    from hearth.modelling.scoring.reasons import lead_agencies  # numpy

    folder = _folder(as_of)
    try:
        with _run_lock("hearth plan"):
            plan = plan_published(folder, capacity, lead_agencies(), _top(top), _explainer())
    except CapacityError as e:
        fail(str(e))
    table = Table(title=f"Visit plans, {folder.name}")
    for col in ("team", "agency", "visits", "planned", "led by agency", "expected precision"):
        table.add_column(col, justify="left" if col in ("team", "agency") else "right")
    for t in plan["teams"]:
        p = t["expected_precision"]
        table.add_row(
            t["team"],
            t["agency"],
            f"{t['visits_per_month']:,}",
            f"{t['planned']:,}",
            f"{t['led_by_this_agency']:,}",
            "" if p is None else f"{p:.0%}",
        )
    console.print(table)
    console.print(
        f"{plan['households_not_planned']:,} of the top {plan['households_considered']:,} "
        f"households were not planned. Plans in {folder / 'plans'}; report.html updated.",
        highlight=False,
    )


def reidentify_command(
    clients: Annotated[
        Path, typer.Option("--clients", help="The agency's client list (CSV or Parquet).")
    ],
    id_column: Annotated[
        str, typer.Option("--id-column", help="Column with the NHS number or UPRN.")
    ],
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help="The shared key (default: HEARTH_PSEUDONYMISATION_KEY)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write (default: beside the client list)."),
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the output file if it exists.")
    ] = False,
) -> None:
    """At the agency: hash your own client list with the shared key and get back the ranked
    households you already know, in your role's view. Every use is audited."""

    if role not in ROLES:
        fail(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    try:
        r = reidentify(key_file, clients, id_column, role, out, as_of, say=say, overwrite=overwrite)
    except (PseudonymiseError, ReidentifyError) as e:
        fail(str(e))
    except Exception as e:  # e.g. the warehouse is busy with a run: no detail that could leak
        fail(
            f"Re-identification stopped ({type(e).__name__}); nothing was written. If a run is "
            "in progress, try again when it has finished."
        )
    console.print(
        f"{r.matched:,} of {r.clients:,} clients matched {r.households:,} ranked households "
        f"(list of {r.as_of}, {r.role} view). Wrote {r.out}",
        highlight=False,
    )
    if not r.people_matched:
        console.print(
            f"The {r.role} role matches households (UPRN pseudonyms) only: its data contracts do "
            "not let it see person pseudonyms, so NHS numbers on the list were not matched.",
            highlight=False,
        )


def audit_command(
    limit: Annotated[int, typer.Option(help="How many of the latest entries.")] = 50,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check the log's chain, its head and its copies in the audit sink: exit 1 if "
            "an entry was changed, deleted or added, or if that cannot be told.",
        ),
    ] = False,
    expect: Annotated[
        str | None,
        typer.Option(
            "--expect",
            help="With --verify: a head line kept from an earlier --verify (N:HASH).",
        ),
    ] = None,
) -> None:
    """List the audit log: every re-identification (when, who, role, clients, matched, which
    run). With --verify, check its chain of hashes, its head and the sink's copies instead."""

    check = verify_log(expect)
    if verify:
        _print_verification(check)
        if not check.intact:
            raise typer.Exit(1)
        return
    entries = audit_entries(limit)
    if check.problems:
        err.print(
            "[bold red]Warning:[/] the audit log below has been changed or cut short; "
            "run hearth audit --verify for what.",
            highlight=False,
        )
    if not entries:
        console.print("The audit log is empty.")
        return
    table = Table(title="Audit log (newest first)")
    columns = ("when (UTC)", "action", "user", "role", "clients", "matched", "households", "run")
    for col in columns:
        table.add_column(
            col, justify="right" if col in ("clients", "matched", "households") else "left"
        )
    for row in entries:
        detail = row.get("detail") if isinstance(row.get("detail"), dict) else {}
        households = detail.get("households_returned")
        version = detail.get("model_version")
        run = (row.get("run_as_of") or "") + (f" (model v{version})" if version else "")
        user = str(row.get("user") or "")
        if row.get("os_user") and row.get("os_user") not in (user, "unknown"):
            user += f" (as {row['os_user']})"
        table.add_row(
            str(row.get("at") or "")[:19].replace("T", " "),
            str(row.get("action") or ""),
            user,
            str(row.get("role") or ""),
            _count(row.get("clients")),
            _count(row.get("matched")),
            _count(households),
            run,
        )
    console.print(table)


def _print_verification(check) -> None:
    """What `hearth audit --verify` found, in sentences: intact, altered, or cannot tell."""

    def say(text: str, **kw) -> None:
        console.print(text, highlight=False, soft_wrap=True, markup=False, **kw)

    against = f" and against {check.sink}" if check.sink else ""
    if check.problems:
        err.print("[bold red]The audit log has been tampered with:[/]")
        for p in check.problems:
            err.print(f" • {p}", markup=False, highlight=False, soft_wrap=True)
        if check.sink_entries is not None:
            err.print(
                f"(checked its chain{against}, which holds {check.sink_entries:,} entries for "
                "this home)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    elif check.undetermined:
        err.print("[bold red]The audit log could not be verified:[/]")
        err.print(f" {check.undetermined}", markup=False, highlight=False, soft_wrap=True)
    else:
        head = f" Head: {check.head}." if check.head else ""
        say(
            f"The audit log is intact: {check.entries:,} entries, none changed or deleted "
            f"(checked its chain of hashes and its head{against}).{head}"
        )
    if check.blind_spots:
        say(
            "No audit sink is configured, so this check cannot detect: "
            + "; ".join(check.blind_spots)
            + ". Whoever runs Hearth can do each of these. Send every entry to a sink outside "
            "that account's reach (syslog, a webhook, or an append-only file another user "
            "owns): 'audit: sink:' in the roles file, or HEARTH_AUDIT_SINK; see 'The audit "
            "sink' in docs/operations.md. Until then, keep the head line elsewhere and check "
            f"against it later: hearth audit --verify --expect {check.head or 'N:HASH'}"
        )


def _count(n: object) -> str:
    if isinstance(n, int):
        return f"{n:,}"
    return "" if n is None else str(n)
