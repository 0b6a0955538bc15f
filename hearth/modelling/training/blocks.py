"""Predictions a block of households at a time, so that what a prediction copies stays the size
of a block, not of the area: scikit-learn's trees turn their input into float64, and the
logistic regression's pipeline makes three full copies of it (the kept columns, their log in
float64, the standardised values). On a million households by 225 features that was 4.5 GB
(the regression) over the 0.9 GB matrix; a block of 65,536 households is about 300 MB at most.
Every household's prediction is its own row's, so the blocks give the same numbers as one
call."""

from __future__ import annotations

import numpy as np

BLOCK_ROWS = 65_536


def crisis_probability(model, X: np.ndarray, rows: int = BLOCK_ROWS) -> np.ndarray:
    """`model.predict_proba(X)[:, 1]`, `rows` households at a time."""
    if len(X) <= rows:
        return model.predict_proba(X)[:, 1]
    return np.concatenate(
        [model.predict_proba(X[start : start + rows])[:, 1] for start in range(0, len(X), rows)]
    )
