"""A partnership's run (issue 28): route the partnership's landing once, then run each authority
as its own Hearth home — its own `hearth run` (a Dagster run in its own instance), its own
DuckDB file, outputs, run lock and commit — in two parts around the partnership's one model
(hearth/operations/partnership_model.py):

1. each authority prepares (`hearth run --part prepare`: ingest to features and labels),
   `jobs` at a time;
2. the partnership model is trained once on the union of their feature sets, when the
   completeness rule holds (otherwise the last partnership model stays @champion);
3. each authority that prepared scores with the partnership's @champion and publishes its own
   list (`hearth run --part score`), `jobs` at a time.

One authority's late extract or failed step stops only that authority: the others publish (with
the last partnership model, when the rule does not hold without it). The failed one is re-run
alone (`hearth partnership run --authority <code>`): its routing redone for it only, and it
scores with the partnership's current @champion — the model the others published with — unless
`--retrain` is given.

What each authority's run did is read from its own `outputs/latest/run_summary.json`; the
partnership's `run_summary.json` (HEARTH_HOME/partnership/) names every authority's outcome,
the partnership model's step (which authorities were in, which not, and the rule) and the
routing's counts."""

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
from hearth.linkage.partnership import Routing, read_authorities, route
from hearth.operations.partnership_model import (
    PartnershipModel,
    current_champion,
    judge_completeness,
    train_partnership_model,
)
from hearth.operations.runlock import run_lock

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
    published: bool  # its list published (its `score` part, or the whole run, succeeded)
    seconds: float
    home: str
    started: float = 0.0  # seconds after the partnership's run began (overlap is visible)
    as_of: str | None = None
    output_folder: str | None = None
    why: list[str] = field(default_factory=list)  # a failed run's own last sentences
    prepared: bool = False  # its `prepare` part succeeded (features for the partnership model)
    model_version: str | None = None  # the partnership model version its list was scored with
    parts: dict[str, float] = field(default_factory=dict)  # part: seconds


def _write(path: Path, record: dict) -> None:
    text = json.dumps(record, indent=2, default=str) + "\n"
    write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def authority_environment(authority: str) -> dict[str, str]:
    """The caller's environment (network, certificates, clock kept) with HEARTH_HOME the
    authority's home, none of the caller's other Hearth places, and the partnership's model
    store (HEARTH_PARTNERSHIP_MODEL: the partnership's own MLflow) as the model it scores
    with."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_PLACES}
    env["HEARTH_HOME"] = str(settings.authority_home(authority))
    env["HEARTH_PARTNERSHIP_MODEL"] = settings.mlflow_tracking_uri()
    env["COLUMNS"] = "1000"  # its console's sentences stay one line each in the summary
    return env


def _hearth() -> list[str]:
    return [sys.executable, "-m", "hearth.cli.app"]


def run_authority(
    authority: str, extra: list[str], began: float, part: str = "score"
) -> AuthorityRun:
    """One part of one authority's run (`hearth run --part prepare|score` in its own home) as a
    child process: a crash or a kill of it ends that authority's run only."""
    home = settings.authority_home(authority)
    start = time.monotonic()
    log = home / f"partnership-{part}.log"
    home.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.call(
            [*_hearth(), "run", "--landing", str(home / "landing"), "--part", part, *extra],
            env=authority_environment(authority),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home,
        )
    seconds = round(time.monotonic() - start, 1)
    run = AuthorityRun(
        authority,
        published=code == 0 and part == "score",
        seconds=seconds,
        home=str(home),
        started=round(start - began, 1),
        prepared=code == 0 and part == "prepare",
        parts={part: seconds},
    )
    if code == 0 and part == "score":
        summary = read_record(home / "outputs" / "latest" / "run_summary.json") or {}
        run.as_of = summary.get("as_of")
        run.model_version = str((summary.get("model") or {}).get("version") or "") or None
        run.output_folder = str((home / "outputs" / "latest").resolve())
    elif code != 0:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        run.why = [ln for ln in lines if ln.strip()][-_LAST_LINES:] or [f"exit code {code}"]
    return run


def _part(
    names: tuple[str, ...], part: str, jobs: int, extra: list[str], began: float
) -> dict[str, AuthorityRun]:
    """One part of each named authority's run, `jobs` at a time."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = pool.map(lambda a: run_authority(a, extra, began, part), names)
        return {r.authority: r for r in runs}


def _stopped_why(run: AuthorityRun) -> str:
    """Why an authority is not in the partnership model's month: its run's first problem
    (the sentences `hearth run` lists as bullets), else its last line."""
    problems = [ln.strip().lstrip("•").strip() for ln in run.why if ln.strip().startswith("•")]
    said = problems[0] if problems else (run.why[-1].strip() if run.why else "")
    return "its run stopped before its features were built" + (f": {said}" if said else "")


def _joined(prepared: AuthorityRun, scored: AuthorityRun | None, why: list[str]) -> AuthorityRun:
    """An authority's two parts as one outcome."""
    if scored is None:
        prepared.why = prepared.why or why
        return prepared
    scored.prepared = True
    scored.started = prepared.started
    scored.parts = {**prepared.parts, **scored.parts}
    scored.seconds = round(sum(scored.parts.values()), 1)
    return scored


def run_authorities(
    names: Iterable[str],
    jobs: int = 2,
    extra: list[str] | None = None,
    say: Callable[[str], None] = print,
    routing: Routing | None = None,
    retrain: bool | None = None,
    min_share: float | None = None,
    train_config: dict | None = None,
    everyone: Iterable[str] | None = None,
) -> list[AuthorityRun]:
    """Prepare each named authority in its own home from its routed landing, train the
    partnership model once (`retrain`; default: when every authority of the partnership,
    `everyone`, is among those named) if the completeness rule holds, then score and publish
    each authority that prepared with the partnership's @champion; write the partnership's
    run_summary.json (`routing`: the routing they ran on)."""
    # one partnership run at a time: two would train from (and route into) the same homes
    with run_lock(settings.partnership_dir(), "hearth partnership run", say):
        return _run_authorities(
            tuple(names),
            jobs,
            extra or [],
            say,
            routing,
            retrain,
            min_share,
            train_config,
            tuple(everyone or (routing.authorities if routing else names)),
        )


def _run_authorities(
    names: tuple[str, ...],
    jobs: int,
    extra: list[str],
    say: Callable[[str], None],
    routing: Routing | None,
    retrain: bool | None,
    min_share: float | None,
    train_config: dict | None,
    partnership: tuple[str, ...],
) -> list[AuthorityRun]:
    retrain = set(names) >= set(partnership) if retrain is None else retrain
    say(f"Preparing {len(names)} authorit{'y' if len(names) == 1 else 'ies'}, {jobs} at a time.")
    began = time.monotonic()
    prepared = _part(names, "prepare", jobs, extra, began)
    stopped = {a: _stopped_why(r) for a, r in prepared.items() if not r.prepared}
    rule = judge_completeness(partnership, stopped, min_share)
    if retrain:
        model = train_partnership_model(rule, train_config, say)
    else:
        version = current_champion()
        model = PartnershipModel(
            False,
            rule,
            version,
            reason="not retrained: an authority run alone scores with the partnership's "
            f"current model (version {version})",
        )
        say(f"The partnership model is not retrained; {model.reason}.")
    ready = tuple(a for a in names if prepared[a].prepared)
    scored: dict[str, AuthorityRun] = {}
    no_model = ["The partnership has no model to score with: " + rule.sentence()]
    if ready and model.version is not None:
        say(
            f"Scoring {len(ready)} authorit{'y' if len(ready) == 1 else 'ies'} with the "
            f"partnership model version {model.version}, {jobs} at a time."
        )
        scored = _part(ready, "score", jobs, extra, began)
    runs = [_joined(prepared[a], scored.get(a), no_model) for a in names]
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
        "authorities": list(partnership),
        "published": [r["authority"] for r in ordered if r["published"]],
        "stopped": [r["authority"] for r in ordered if not r["published"]],
        "model": model.as_record(),
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
    with run_lock(settings.partnership_dir(), "hearth partnership run", say):
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
    retrain: bool | None = None,
    min_share: float | None = None,
    train_config: dict | None = None,
) -> tuple[Routing, list[AuthorityRun]]:
    """Route (for the authorities named, default all), then run each of them around the
    partnership model (`run_authorities`)."""
    chosen = tuple(authorities) if authorities else None
    routing = route_partnership(landing, chosen, say)
    if routing.blocking:  # a file of the partnership's landing no authority could be given
        for sentence in routing.blocking:
            say(sentence)
        return routing, []
    runs = run_authorities(
        chosen or routing.authorities,
        jobs,
        extra,
        say,
        routing,
        retrain=retrain,
        min_share=min_share,
        train_config=train_config,
        everyone=read_authorities(landing),
    )
    return routing, runs
