"""A partnership's run (issue 28): route the partnership's landing once, then run each authority
as its own Hearth home — its own `hearth run` (a Dagster run in its own instance), its own
DuckDB file, outputs, run lock and commit — so one authority's late extract or failed step
stops only that authority. The others publish; the failed one is re-run alone
(`hearth partnership run --authority <code>`), its routing redone for it only.

What each authority's run did is read from its own `outputs/latest/run_summary.json`; the
partnership's `run_summary.json` (HEARTH_HOME/partnership/) names every authority's outcome and
the routing's counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hearth import settings
from hearth.atomic import read_record, write_atomically
from hearth.linkage.partnership import Routing, route

# An authority's run has its own home: none of the caller's Hearth places may leak into it.
_OWN_PLACES = (
    "HEARTH_LANDING",
    "HEARTH_WAREHOUSE",
    "HEARTH_OUTPUTS",
    "DAGSTER_HOME",
    "MLFLOW_TRACKING_URI",
    "HEARTH_ROLES_FILE",
)
_LAST_LINES = 8  # of a failed run's output, kept in the summary: the sentences saying why


@dataclass
class AuthorityRun:
    authority: str
    published: bool
    seconds: float
    home: str
    started: float = 0.0  # seconds after the partnership's run began (overlap is visible)
    as_of: str | None = None
    output_folder: str | None = None
    why: list[str] = field(default_factory=list)  # a failed run's own last sentences


def _write(path: Path, record: dict) -> None:
    text = json.dumps(record, indent=2, default=str) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def authority_environment(authority: str) -> dict[str, str]:
    """The caller's environment (network, certificates, clock kept) with HEARTH_HOME the
    authority's home and none of the caller's other Hearth places."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_PLACES}
    env["HEARTH_HOME"] = str(settings.authority_home(authority))
    env["COLUMNS"] = "1000"  # its console's sentences stay one line each in the summary
    return env


def _hearth() -> list[str]:
    return [sys.executable, "-m", "hearth.cli.app"]


def run_authority(authority: str, extra: list[str], began: float) -> AuthorityRun:
    """One authority's whole run, `hearth run` in its own home, as a child process: a crash or
    a kill of it ends that authority's run only."""
    home = settings.authority_home(authority)
    start = time.monotonic()
    log = home / "partnership-run.log"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.call(
            [*_hearth(), "run", "--landing", str(home / "landing"), *extra],
            env=authority_environment(authority),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home,
        )
    run = AuthorityRun(
        authority,
        published=code == 0,
        seconds=round(time.monotonic() - start, 1),
        home=str(home),
        started=round(start - began, 1),
    )
    if code == 0:
        summary = read_record(home / "outputs" / "latest" / "run_summary.json") or {}
        run.as_of = summary.get("as_of")
        run.output_folder = str((home / "outputs" / "latest").resolve())
    else:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        run.why = [ln for ln in lines if ln.strip()][-_LAST_LINES:] or [f"exit code {code}"]
    return run


def run_authorities(
    names: Iterable[str],
    jobs: int = 2,
    extra: list[str] | None = None,
    say: Callable[[str], None] = print,
    routing: Routing | None = None,
) -> list[AuthorityRun]:
    """Run each authority's whole pipeline in its own home from its routed landing, `jobs` at a
    time, and write the partnership's run_summary.json (`routing`: the routing they ran on)."""
    names = tuple(names)
    say(f"Running {len(names)} authorit{'y' if len(names) == 1 else 'ies'}, {jobs} at a time.")
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = list(pool.map(lambda a: run_authority(a, extra or [], began), names))
    for run in runs:
        if run.published:
            say(f"{run.authority}: published its list for {run.as_of} ({run.seconds:.0f} s).")
        else:
            say(
                f"{run.authority}: stopped; its last list stays as it was. Run it alone with "
                f"`hearth partnership run --landing <the partnership's landing> --authority "
                f"{run.authority}`."
            )
    # an authority run alone keeps the others' last outcomes in the summary, marked as earlier
    path = settings.partnership_dir() / "run_summary.json"
    earlier = {
        r["authority"]: {**r, "this_run": False}
        for r in (read_record(path) or {}).get("authorities_runs", [])
        if isinstance(r, dict) and r.get("authority") not in names
    }
    latest = {**earlier, **{r.authority: {**asdict(r), "this_run": True} for r in runs}}
    ordered = [latest[a] for a in sorted(latest)]
    record = {
        "home": str(settings.hearth_home()),
        "authorities": list(routing.authorities) if routing else sorted(latest),
        "published": [r["authority"] for r in ordered if r["published"]],
        "stopped": [r["authority"] for r in ordered if not r["published"]],
        "authorities_runs": ordered,
        "routing": {
            "file": "routing.json",
            "problems": routing.sentences() if routing else [],
        },
    }
    _write(path, record)
    return runs


def route_partnership(
    landing: Path, only: Iterable[str] | None = None, say: Callable[[str], None] = print
) -> Routing:
    """Route the partnership's landing into each authority's (or `only` those named), and keep
    the routing's counts in HEARTH_HOME/partnership/routing.json."""
    routing = route(
        landing,
        settings.authorities_dir(),
        settings.partnership_dir() / "routing.duckdb",
        only=only,
        say=say,
    )
    _write(settings.partnership_dir() / "routing.json", routing.as_record())
    return routing


def run_partnership(
    landing: Path,
    authorities: Iterable[str] | None = None,
    jobs: int = 2,
    extra: list[str] | None = None,
    say: Callable[[str], None] = print,
) -> tuple[Routing, list[AuthorityRun]]:
    """Route (for the authorities named, default all), then run each of them."""
    chosen = tuple(authorities) if authorities else None
    routing = route_partnership(landing, chosen, say)
    if routing.blocking:  # a file of the partnership's landing no authority could be given
        for sentence in routing.blocking:
            say(sentence)
        return routing, []
    runs = run_authorities(chosen or routing.authorities, jobs, extra, say, routing)
    return routing, runs
