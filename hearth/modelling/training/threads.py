"""How many threads scikit-learn's fits and predictions may use (its OpenMP loops and the BLAS,
set with threadpoolctl): `TrainParams.fit_threads` for training, `PREDICT_THREADS` for scoring.
One by default: on cores shared with other work a thread that waits for its partner spins, and
the training step took 3-4 times the CPU seconds on two threads for the very same model
(docs/performance.md, "The training step's cost")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits  # scikit-learn's own dependency

from hearth.modelling.training.params import TrainParams

# Threads the scoring step's predictions use (the list, the training window's scores for
# monitoring, an earlier version's ranking): one, as training's default (TrainParams.fit_threads)
# and for the same reason; on shared cores two threads took 6x the CPU seconds of one.
PREDICT_THREADS = 1


@contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """Fits and predictions inside use `threads` threads (OpenMP and BLAS; 0: every core). Set
    in the calling thread, which is the one scikit-learn asks how many to use."""
    with threadpool_limits(limits=threads if threads > 0 else None):
        yield


def fitting_threads(params: TrainParams):
    """`limited_threads` to `params.fit_threads` (1 by default: docs/performance.md)."""
    return limited_threads(params.fit_threads)


def predicting_threads():
    """`limited_threads` to `PREDICT_THREADS`, for scoring."""
    return limited_threads(PREDICT_THREADS)
