"""A logger that turns step events into one line each for `hearth run`'s terminal."""

import logging
import time
from collections.abc import Callable

import dagster as dg

# `hearth run` sets where lines go for the length of one in-process run.
PROGRESS: dict[str, Callable[[str], None] | dict[str, float] | None] = {
    "say": None,
    "timings": None,
}


# Steps whose own log lines `hearth run` prints under "running <step>": the training recipe
# logs each candidate and value-of-sharing fit through Dagster's context log
# (hearth/modelling/training/recipe.py).
SHOW_PROGRESS_OF = frozenset({"champion_model"})


class _StepLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        say, timings = PROGRESS["say"], PROGRESS["timings"]
        meta = getattr(record, "dagster_meta", None) or {}
        event, step = meta.get("dagster_event"), meta.get("step_key")
        if say is None or step is None:
            return
        if event is None:
            # the long steps' own progress (which candidate, which value-of-sharing fit)
            if step in SHOW_PROGRESS_OF and record.levelno >= logging.INFO:
                say(f"          {meta.get('orig_message') or record.getMessage()}")
            return
        name = step.replace("_", " ")
        kind = event.event_type_value
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            say(f"  running {name}")
        elif kind == "STEP_SUCCESS":
            took = time.perf_counter() - self.started.get(step, time.perf_counter())
            if isinstance(timings, dict):
                timings[step] = took
            say(f"  done    {name} ({took:.1f} s)")
        elif kind == "STEP_FAILURE":
            say(f"  FAILED  {name}")
        elif kind == "STEP_SKIPPED":
            say(f"  skipped {name} (an earlier check stopped the run)")


@dg.logger(description="One line per step for the hearth command; silent elsewhere.")
def hearth_progress(_init_context) -> logging.Logger:
    log = logging.getLogger("hearth.progress")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    if not log.handlers:
        log.addHandler(_StepLines())
    return log


@dg.definitions
def loggers() -> dg.Definitions:
    return dg.Definitions(loggers={"hearth_progress": hearth_progress})
