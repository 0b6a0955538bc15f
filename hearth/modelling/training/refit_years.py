"""Two years of outcomes for the refit (TrainParams.refit_years, issues 26 and 27): the refit
at T-12 learns from its own year (features at T-12, crises in (T-12, T]) and, stacked under it,
the training window's (features at T-24, crises in (T-24, T-12]), which safe updating has
already made safe (recipe.py: `prepare_training`). Only where the training date's history gives
the refit's features and longest "months since", so that the two years' rows read alike;
otherwise one year, and a sentence the model card shows. One year's outcomes move the model's
ratio to the oracle by about ±0.02; two read +0.027, +0.022 and +0.006 on the closed loop's
three worlds, steadier (docs/performance.md, "Two years of outcomes for the refit")."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from hearth.features.catalogue import load_catalogue
from hearth.features.design import LONGEST_RECENCY, Design, recency_cap

# The label of the publishing model's calibration check (selection.py's PUBLISHING_MODEL) when
# it learnt from two years: the check runs over the rows it learnt from, both years'.
PUBLISHING_MODEL_TWO_YEARS = (
    "publishing model, its two years (scores it did not fit; a household in both twice)"
)


def stacked_years(newer, older, names: list[str]):
    """The refit's window (`newer`, a selection.py Window) with the older year's rows under
    it, each with its own labels, so a household in both years is there twice. Only the
    pseudonym and `names` are kept: what a fit reads. The folds and the held-back fifth are
    drawn by pseudonym (sampling.py), so a household's two rows share them."""
    cols = ["household_pid", *names]
    frame = pl.concat([newer.frame.select(cols), older.frame.select(cols)], how="vertical_relaxed")
    return replace(newer, frame=frame, y=np.concatenate([np.asarray(newer.y), older.y]))


def refit_years(
    asked: int, design: Design, names: list[str], cap: int, history: int, latest_history: int
) -> tuple[int, str | None]:
    """The years of outcomes the refit learns from when `asked` for that many, the training
    date having `history` months of extracts before it (`names` and `cap` its features and
    "months since"), and when two were asked and it learns from one, why (otherwise None)."""
    if asked not in (1, 2):
        raise ValueError(
            f"refit_years is {asked}: the refit learns from 1 year of outcomes (its own) "
            "or 2 (the training window's stacked under its own)."
        )
    if asked == 1:
        return 1, None
    same = load_catalogue().usable_names(latest_history) == names
    if same and recency_cap(latest_history) == cap:
        return 2, None
    return 1, (
        f"Two years of outcomes were asked for the refit (refit_years 2), but the households "
        f"as at {design.train_as_of} have {history} months of extracts before them, so fewer "
        f'features or a shorter "months since" than those as at {design.valid_as_of} '
        f"({latest_history} months): the refit learnt from its own year only. Two years need "
        f"{LONGEST_RECENCY} months of extracts before {design.train_as_of}, "
        f"{LONGEST_RECENCY + 24} before {design.score_as_of}."
    )
