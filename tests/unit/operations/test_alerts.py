"""How a run stopped by a signal is told, from its run-failure event alone (the event's shape
as Dagster writes it: dagster/_core/execution/api.py; plain objects here, no Dagster)."""

from __future__ import annotations

from types import SimpleNamespace

from hearth.operations.alerts import compose, run_failure_sentence, stop_from_events

SAID = "The run was interrupted (Ctrl-C, or a stop signal such as a shutdown's SIGTERM)"


def run_failure(reason: str, message: str) -> SimpleNamespace:
    error = SimpleNamespace(message=message, cause=None)
    data = SimpleNamespace(failure_reason=SimpleNamespace(value=reason), error=error)
    return SimpleNamespace(event_type_value="PIPELINE_FAILURE", event_specific_data=data)


def test_a_signal_between_two_steps_is_told_as_an_interruption():
    """Dagster notes a signal that arrives outside a step's code and raises it at its next
    checkpoint; where that is outside any step, the run fails with Dagster's own interruption,
    which names no step."""
    ev = run_failure(
        "UNEXPECTED_TERMINATION",
        "dagster._core.errors.DagsterExecutionInterruptedError\n",
    )
    sentence = run_failure_sentence(ev)
    assert sentence == (
        f"{SAID} between two steps; nothing it did was kept: the warehouse, the outputs and "
        "@champion are as they were."
    )
    stop = stop_from_events([ev])
    assert stop.steps == [] and stop.ended == sentence
    assert f" • {sentence}" in compose("abcdef12", "hearth_job", stop).splitlines()


def test_hearths_own_words_for_a_signal_as_the_run_ends_are_kept():
    own = f"{SAID} as it was ending; nothing it did was kept."
    ev = run_failure("UNEXPECTED_TERMINATION", f"hearth.operations.recovery.RunInterrupted: {own}")
    assert run_failure_sentence(ev) == own


def test_a_run_that_failed_otherwise_is_not_called_interrupted():
    for reason in ("STEP_FAILURE", "RUN_EXCEPTION"):
        assert run_failure_sentence(run_failure(reason, "something else")) is None
