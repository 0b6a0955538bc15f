"""Households chosen by pseudonym, the same every run: the calibration's held-back fifth, the
cross-fit's folds and the case-control sample the candidates are fitted on
(hearth/modelling/training/fit.py)."""

from __future__ import annotations

import hashlib

import numpy as np


def household_sample(household_pid: np.ndarray, share: float, purpose: str) -> np.ndarray:
    """A fixed share of households chosen by pseudonym: the same every run. `purpose` salts
    the choice so that two samples (say calibration, and a sample to train on) are
    independent rather than the same households."""
    cut = int(share * 2**32)
    salt = purpose.encode() + b":"
    return np.array(
        [int(hashlib.sha256(salt + h.encode()).hexdigest()[:8], 16) < cut for h in household_pid]
    )


def fitting_sample(
    household_pid: np.ndarray, y: np.ndarray, max_negatives: int, rows: np.ndarray
) -> np.ndarray:
    """Every household with a crisis and, on a large area, a fixed share of those without,
    about `max_negatives` of them (case-control sampling). Crises are rare, so most of a
    million rows say little the next 300,000 do not; fitting on fewer costs a third of the
    time and moves the model's log-odds by a constant, which the calibration on the full,
    unsampled held-back households then removes. The ranking is unchanged in expectation."""
    negatives = int(((y == 0) & rows).sum())
    if max_negatives <= 0 or negatives <= max_negatives:
        return rows
    share = max_negatives / negatives
    return rows & ((y == 1) | household_sample(household_pid, share, "negatives"))


def calibration_mask(household_pid: np.ndarray, share: float) -> np.ndarray:
    """True for the households held back for calibration."""
    return household_sample(household_pid, share, "calibration")


def household_folds(household_pid: np.ndarray, folds: int) -> np.ndarray:
    """Each household's fold (0 .. folds-1), by pseudonym: the same every run."""
    salt = b"crossfit:"
    return np.array(
        [int(hashlib.sha256(salt + h.encode()).hexdigest()[:8], 16) % folds for h in household_pid]
    )
