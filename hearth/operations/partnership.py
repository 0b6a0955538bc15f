"""A partnership's run (issue 28), as plain functions the partnership's Dagster job
(hearth/defs/operations/partnership.py: `hearth_partnership`) calls step by step. Each
authority is its own Hearth home — its own `hearth run` (a Dagster run in its own instance), its
own DuckDB file, outputs, run lock and commit — run in two parts around the partnership's one
model (hearth/operations/partnership_model.py):

1. the partnership's landing is routed once into each authority's (`plan_partnership`);
2. each authority prepares (`prepare_authority`: `hearth run --part prepare`, ingest to features
   and labels), one Dagster step per authority, as many at once as the executor allows;
3. the partnership model is trained once on the union of their feature sets, when the
   completeness rule holds (otherwise the last partnership model stays @champion):
   `partnership_model_rule`, then the model's steps (hearth/operations/partnership_model.py:
   `begin_partnership_model`, a step per fit, the choice, a step per fit after it, and
   `finish_partnership_model`), or `partnership_model_step` in one call;
4. each authority that prepared scores with the partnership's @champion and publishes its own
   list (`score_authority`: `hearth run --part score`), one step per authority;
5. the partnership's run_summary.json (HEARTH_HOME/partnership/) names every authority's
   outcome, the model's step (which authorities were in, which not, and the rule) and the
   routing's counts (`write_summary`).

One authority's late extract or failed (or killed) step stops only that authority: its step
records the outcome and the others go on and publish (with the last partnership model, when the
rule does not hold without it). The failed one is re-run alone (`hearth partnership run
--authority <code>`): its routing redone for it only, and it scores with the partnership's
current @champion — the model the others published with — unless `--retrain` is given.

What each authority's run did is read from its own `outputs/latest/run_summary.json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hearth import settings
from hearth.atomic import read_record, write_atomically
from hearth.linkage.partnership import (
    PartnershipError,
    Routed,
    Routing,
    read_authorities,
    route,
)
from hearth.operations.partnership_model import (
    Completeness,
    PartnershipModel,
    judge_completeness,
    kept_model,
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
    # the partnership's executor spreads the authorities; each one's own run is in-process
    "HEARTH_EXECUTOR",
)
_LAST_LINES = 8  # of a failed run's output, kept in the summary: the sentences saying why
LOCK_WHAT = "hearth partnership run"


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


@dataclass
class PartnershipPlan:
    """What a partnership run works on, decided by its first step from the landing as it is
    then (never when the definitions load)."""

    names: tuple[str, ...]  # the authorities this run runs
    everyone: tuple[str, ...]  # every authority of the partnership (the completeness rule's)
    began: float  # the wall clock as the run began: each authority's `started` counts from it
    problems: list[str] = field(default_factory=list)  # the routing's sentences
    blocking: list[str] = field(default_factory=list)  # files no authority could be given
    routed: bool = True  # routed in this run (else: as an earlier routing left the landings)


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
    child process: a crash or a kill of it ends that authority's run only. `began`: the
    partnership run's start on the wall clock (steps may run in other processes or machines)."""
    home = settings.authority_home(authority)
    started, start = time.time(), time.monotonic()
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
        started=round(started - began, 1),
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
        said = [ln for ln in lines if ln.strip()][-_LAST_LINES:]
        run.why = said or [f"its run ended with exit code {code} and said nothing"]
        if code < 0:  # killed by a signal: its own output may end mid-line
            run.why.append(f"its run was stopped by signal {-code}")
    return run


def _extra(allow_missing_sources: bool) -> list[str]:
    return ["--allow-missing-sources"] if allow_missing_sources else []


def prepare_authority(
    authority: str, plan: PartnershipPlan, allow_missing_sources: bool = False
) -> AuthorityRun:
    """An authority's first part (ingest to features and labels) in its own home."""
    return run_authority(authority, _extra(allow_missing_sources), plan.began, "prepare")


def score_authority(
    authority: str, plan: PartnershipPlan, allow_missing_sources: bool = False
) -> AuthorityRun:
    """An authority's second part (scored with the partnership's @champion, its list
    published) in its own home."""
    return run_authority(authority, _extra(allow_missing_sources), plan.began, "score")


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


def route_landing(
    landing: Path, only: Iterable[str] | None = None, say: Callable[[str], None] = print
) -> Routing:
    """Route the partnership's landing into each authority's (or `only` those named), and keep
    the routing's counts in HEARTH_HOME/partnership/routing.json. Takes no lock: the caller
    holds the partnership's (`route_partnership`, or the process orchestrating the job)."""
    routing = route(
        landing,
        settings.authorities_dir(),
        settings.partnership_dir() / "routing.duckdb",
        only=only,
        say=say,
    )
    _write(settings.partnership_dir() / "routing.json", routing.as_record())
    return routing


def route_partnership(
    landing: Path, only: Iterable[str] | None = None, say: Callable[[str], None] = print
) -> Routing:
    """`route_landing` under the partnership's run lock (`hearth partnership route`)."""
    with run_lock(settings.partnership_dir(), LOCK_WHAT, say):
        return route_landing(landing, only, say)


def last_routing() -> Routing | None:
    """The routing HEARTH_HOME/partnership/routing.json records, None before the first."""
    record = read_record(settings.partnership_dir() / "routing.json")
    if not isinstance(record, dict):
        return None
    return Routing(
        tuple(record.get("authorities") or ()),
        [Routed(**e) for e in record.get("extracts") or []],
        list(record.get("blocking") or []),
    )


def plan_partnership(
    landing: Path,
    only: Iterable[str] | None = None,
    route_first: bool = True,
    say: Callable[[str], None] = print,
) -> PartnershipPlan:
    """The partnership's authorities read from the landing's area lookup now, and the routing
    of its landing into theirs (for `only` those named, default all); with `route_first` False,
    the authorities' landings as the last routing left them."""
    began = time.time()
    everyone = read_authorities(landing)
    chosen = tuple(only) if only else None
    if route_first:
        routing: Routing | None = route_landing(landing, chosen, say)
    else:
        routing = last_routing()
        unknown = sorted(set(chosen or ()) - set(everyone))
        if unknown:
            raise PartnershipError(
                f"{', '.join(unknown)} is not an authority of the partnership "
                f"({', '.join(everyone)})."
            )
    names = chosen or (routing.authorities if routing else everyone)
    return PartnershipPlan(
        names=tuple(names),
        everyone=everyone,
        began=began,
        problems=routing.sentences() if routing else [],
        blocking=list(routing.blocking) if routing and route_first else [],
        routed=route_first,
    )


def partnership_model_rule(
    plan: PartnershipPlan,
    prepared: Iterable[AuthorityRun],
    retrain: bool | None = None,
    min_share: float | None = None,
) -> tuple[Completeness, bool]:
    """The completeness rule, once every authority's first part has ended, and whether the
    model is retrained (`retrain`; default: when every authority of the partnership is in this
    run). Retrained only if the rule holds too; else @champion stays (the sentence says which
    and why)."""
    stopped = {r.authority: _stopped_why(r) for r in prepared if not r.prepared}
    rule = judge_completeness(plan.everyone, stopped, min_share)
    retrain = set(plan.names) >= set(plan.everyone) if retrain is None else retrain
    return rule, retrain


def partnership_model_step(
    plan: PartnershipPlan,
    prepared: Iterable[AuthorityRun],
    retrain: bool | None = None,
    min_share: float | None = None,
    train_config: dict | None = None,
    say: Callable[[str], None] = print,
) -> PartnershipModel:
    """The partnership model's step in one call: retrain (see `partnership_model_rule`) or keep
    @champion. The partnership's job makes the same calls in steps that can run at once
    (hearth/defs/operations/partnership.py)."""
    rule, retrain = partnership_model_rule(plan, prepared, retrain, min_share)
    if retrain:
        return train_partnership_model(rule, train_config, say)
    return kept_model(rule, settings.mlflow_tracking_uri(), say)


def ready_to_score(prepared: Iterable[AuthorityRun], model: PartnershipModel) -> list[str]:
    """The authorities that score: those that prepared, when the partnership has a model."""
    if model.version is None:
        return []
    return [r.authority for r in prepared if r.prepared]


def outcome_sentences(runs: Iterable[AuthorityRun]) -> list[str]:
    """One sentence per authority: published, or stopped and how to run it alone."""
    return [
        f"{run.authority}: published its list for {run.as_of} ({run.seconds:.0f} s)."
        if run.published
        else f"{run.authority}: stopped; its last list stays as it was. Run it alone with "
        f"`hearth partnership run --landing <the partnership's landing> --authority "
        f"{run.authority}`."
        for run in runs
    ]


def write_summary(
    plan: PartnershipPlan,
    prepared: Iterable[AuthorityRun],
    scored: Iterable[AuthorityRun],
    model: PartnershipModel,
    say: Callable[[str], None] = print,
    run_id: str | None = None,
) -> list[AuthorityRun]:
    """Each authority's two parts as one outcome, said and written to the partnership's
    run_summary.json; an authority run alone keeps the others' last outcomes in it, marked as
    earlier. `run_id`: the partnership's Dagster run."""
    first = {r.authority: r for r in prepared}
    second = {r.authority: r for r in scored}
    no_model = ["The partnership has no model to score with: " + model.completeness.sentence()]
    runs = [_joined(first[a], second.get(a), no_model) for a in plan.names if a in first]
    for sentence in outcome_sentences(runs):
        say(sentence)
    path = settings.partnership_dir() / "run_summary.json"
    earlier = {
        r["authority"]: {**r, "this_run": False}
        for r in (read_record(path) or {}).get("authorities_runs", [])
        if isinstance(r, dict) and r.get("authority") not in plan.names
    }
    latest = {**earlier, **{r.authority: {**asdict(r), "this_run": True} for r in runs}}
    ordered = [latest[a] for a in sorted(latest)]
    record = {
        "home": str(settings.hearth_home()),
        "run_id": run_id,
        "authorities": list(plan.everyone),
        "published": [r["authority"] for r in ordered if r["published"]],
        "stopped": [r["authority"] for r in ordered if not r["published"]],
        "model": model.as_record(),
        "authorities_runs": ordered,
        "routing": {"file": "routing.json", "problems": plan.problems},
    }
    _write(path, record)
    return runs


def summary_runs(record: dict) -> list[AuthorityRun]:
    """The authorities a partnership run ran, from its run_summary.json record."""
    names = {f for f in AuthorityRun.__dataclass_fields__}
    return [
        AuthorityRun(**{k: v for k, v in r.items() if k in names})
        for r in record.get("authorities_runs", [])
        if isinstance(r, dict) and r.get("this_run")
    ]
