"""Plain-language alerts when a run stops: a line in HEARTH_HOME/alerts.log and, where
HEARTH_ALERT_WEBHOOK is set, a JSON POST (Teams, Slack and most chat or ticket tools accept a
`text` field). The alert names the check that stopped the run and the file, column and rule it
found - never a value, never a key - and says what to do next."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from hearth import settings
from hearth.privacy.access import resource_refusal_sentence

WEBHOOK_ENV = settings.ALERT_WEBHOOK_ENV
ALERTS_LOG = "alerts.log"


@dataclass
class Stop:
    """Why a run stopped: the checks that failed and the steps that failed for other reasons."""

    checks: list[tuple[str, str, str]] = field(default_factory=list)  # (asset, check, sentence)
    steps: list[tuple[str, str]] = field(default_factory=list)  # (step, sentence)
    ended: str | None = None  # why the run ended when no step says (interrupted as it ended)

    def sentences(self) -> list[str]:
        return (
            [f"[{a} · {c}] {d}" for a, c, d in self.checks]
            + [f"[{s}] {d}" for s, d in self.steps]
            + ([self.ended] if self.ended else [])
        )


# What a run interrupted by a signal says, wherever it is reported.
INTERRUPTED = (
    "The run was interrupted (Ctrl-C, or a stop signal such as a shutdown's SIGTERM) {when}; "
    "nothing it did was kept: the warehouse, the outputs and @champion are as they were."
)


def nothing_kept(outputs: Path | None = None) -> str:
    """What a stopped run left published, in words: the last outputs, or (in a home where
    nothing has been published yet) that there are none."""
    outputs = outputs or settings.outputs_dir()
    if outputs.is_dir() and any(outputs.glob("*/ranked_households.*")):
        return "Nothing was published; the last outputs are as they were."
    return "Nothing was published, and no list has been published here before."


def _deepest(err) -> str:
    msg = err.message.strip().splitlines()[0] if err and err.message else "unknown error"
    cause = err.cause if err else None
    while cause is not None and cause.cause is not None:
        cause = cause.cause
    return cause.message.strip().splitlines()[0] if cause is not None else msg


# The metadata key of the quality gate's failure (hearth/defs/quality/checks.py): the
# failed checks it lists are reported one by one from their own results.
STOPPED_BY_CHECKS = "problems_found"


def step_sentence(ev) -> str | None:
    """The sentence for a failed step (a STEP_FAILURE DagsterEvent), or None for the failure of
    a blocking check or of the quality gate, which the checks' own sentences report."""
    data = ev.step_failure_data
    err = data.error
    first = err.message.strip().splitlines()[0] if err and err.message else ""
    if "blocking asset check" in first:
        return None
    user = data.user_failure_data
    if user is not None and STOPPED_BY_CHECKS in (user.metadata or {}):
        return None
    if data.error_source is not None and data.error_source.value == "INTERRUPT":
        return INTERRUPTED.format(when="during this step")
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description  # a dagster.Failure: its sentence, no type
    return _deepest(err)


def run_failure_sentence(ev) -> str | None:
    """The sentence for a run that was interrupted where no step was running: as it started
    or ended (Hearth holds signals back there and then records the run as interrupted, in its
    own words), or outside any step's code, where Dagster's own interruption names no step
    (Dagster notes a signal that arrives outside a step's code and raises it at its next
    checkpoint). Dagster gives a run this reason only when a signal's interruption reached its
    executor (dagster/_core/execution/api.py)."""
    data = ev.event_specific_data
    reason = getattr(data, "failure_reason", None)
    if reason is None or reason.value != "UNEXPECTED_TERMINATION":
        return None
    err = getattr(data, "error", None)
    text = _deepest(err) if err else ""
    at = text.find("The run was interrupted")  # after the exception's class name
    return text[at:] if at >= 0 else INTERRUPTED.format(when="between two steps")


def _refused_config(ev) -> str | None:
    """The sentence of a run refused because its config pointed a resource outside
    HEARTH_HOME (hearth/defs/resources.py), from the run's failure."""

    err, texts = getattr(ev.event_specific_data, "error", None), []
    while err is not None:
        texts.append(err.message)
        err = err.cause
    return resource_refusal_sentence("\n".join(texts))


def stop_from_events(events) -> Stop:
    """Read a stopped run's events (DagsterEvent objects) for its failed blocking checks and
    failed steps, as `hearth run` reports them."""
    stop = Stop()
    ended = None
    for ev in events:
        if ev is None:
            continue
        kind = ev.event_type_value
        if kind == "ASSET_CHECK_EVALUATION":
            data = ev.event_specific_data
            if not data.passed and data.severity.value == "ERROR":
                stop.checks.append(
                    (
                        data.asset_key.to_user_string(),
                        data.check_name,
                        data.description or f"check {data.check_name} failed",
                    )
                )
        elif kind == "STEP_FAILURE":
            sentence = step_sentence(ev)
            if sentence:
                stop.steps.append((ev.step_key, sentence))
        elif kind == "PIPELINE_FAILURE":
            ended = run_failure_sentence(ev) or _refused_config(ev)
    if not stop.steps:
        stop.ended = ended
    return stop


def stop_from_instance(instance, run_id: str) -> Stop:
    """The same, read back from the Dagster instance's event log (for the failure sensor)."""
    from dagster import DagsterEventType  # dagster

    entries = instance.all_logs(
        run_id,
        of_type={
            DagsterEventType.ASSET_CHECK_EVALUATION,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.RUN_FAILURE,
        },
    )
    return stop_from_events(e.dagster_event for e in entries)


TRIGGERS = {
    "landing_sensor": "the landing sensor",
    "monthly_publish": "the monthly schedule",
    "hearth run": "hearth run",
}


def compose(
    run_id: str,
    job: str,
    stop: Stop,
    trigger: str | None = None,
    months: str | None = None,
    when: str | None = None,
    reason: str | None = None,
    outputs: Path | None = None,
) -> str:
    """The alert as a few lines of plain English. `reason` is Dagster's own account of the
    failure, used when no check or step says why (a run killed or cancelled)."""
    when = when or time.strftime("%Y-%m-%d %H:%M:%S")
    by = f", started by {TRIGGERS.get(trigger, trigger)}" if trigger else ""
    span = f", extract months {months}" if months else ""
    lines = [
        f"[{when}] Hearth stopped: run {run_id[:8]} of {job}{by}{span}. {nothing_kept(outputs)}"
    ]
    for asset, check, text in stop.checks:
        lines.append(f" • The check '{check}' on {asset} stopped the run: {text}")
    for step, text in stop.steps:
        if text.startswith("The run was interrupted"):
            lines.append(" • " + text.replace("this step", f"the step '{step}'"))
        else:
            lines.append(f" • The step '{step}' failed: {text}")
    if not stop.checks and not stop.steps:
        why = stop.ended or (reason.strip().splitlines()[0] if reason and reason.strip() else None)
        lines.append(
            f" • {why}" if why else " • The run ended before any step said why (cancelled?)."
        )
    if stop.checks:
        lines.append(
            "   What to do: fix or replace the file named and land it again - the landing sensor "
            "picks it up - or run `hearth run`."
        )
    lines.append(f"   Details: the Dagster UI (hearth ui), Runs, run {run_id[:8]}.")
    return "\n".join(lines)


def send(
    text: str,
    payload: dict,
    home: Path | None = None,
    webhook: str | None = None,
    timeout: float = 10.0,
) -> Path:
    """Append the alert to alerts.log and POST it to the webhook if one is configured. A webhook
    that fails is noted in the log; it never stops anything."""
    home = home or settings.hearth_home()
    home.mkdir(parents=True, exist_ok=True)
    log = home / ALERTS_LOG
    notes = []
    url = webhook if webhook is not None else settings.alert_webhook()
    if url:
        body = json.dumps({"text": text, **payload}).encode("utf-8")
        req = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                resp.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            # the address may hold a token: name the failure, not the address
            reason = getattr(e, "code", None) or type(e).__name__
            notes.append(f"   (the alert webhook did not accept it: {reason})")
    with log.open("a", encoding="utf-8") as f:
        f.write(text + "\n" + "".join(n + "\n" for n in notes) + "\n")
    return log


def alert_stopped_run(
    run_id: str,
    job: str,
    stop: Stop,
    trigger: str | None = None,
    months: str | None = None,
    home: Path | None = None,
    reason: str | None = None,
) -> str:
    """Compose and send the alert for a stopped run; returns its text."""
    text = compose(run_id, job, stop, trigger, months, reason=reason)
    payload = {
        "run_id": run_id,
        "job": job,
        "status": "stopped",
        "trigger": trigger,
        "months": months,
        "checks": [f"{a}.{c}" for a, c, _ in stop.checks],
        "problems": stop.sentences(),
    }
    send(text, payload, home)
    return text
