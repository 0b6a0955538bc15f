"""`hearth run` prints the training step's own progress (which candidate, which value-of-sharing
fit) under `running champion model`, not minutes of silence; other steps' log lines stay in
Dagster's log."""

from __future__ import annotations

import logging

from hearth.defs.loggers import PROGRESS, _StepLines


def _record(step: str, message: str, level: int = logging.INFO) -> logging.LogRecord:
    record = logging.LogRecord("dagster", level, __file__, 1, message, None, None)
    record.dagster_meta = {"step_key": step, "dagster_event": None, "orig_message": message}
    return record


def test_the_training_steps_progress_is_printed(monkeypatch):
    lines: list[str] = []
    monkeypatch.setitem(PROGRESS, "say", lines.append)
    handler = _StepLines()
    handler.emit(_record("champion_model", "training candidate: logistic"))
    handler.emit(_record("champion_model", "value of sharing: without police"))
    handler.emit(_record("champion_model", "a debug detail", logging.DEBUG))
    handler.emit(_record("linked_events", "a linkage detail"))
    assert [line.strip() for line in lines] == [
        "training candidate: logistic",
        "value of sharing: without police",
    ]
