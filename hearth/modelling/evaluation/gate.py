"""What the promotion gate refuses before any comparison with the champion: a version that
cannot rank households is never registered, promoted or published, whatever the champion's
score (a broken champion must not let a broken challenger through: "0.000 is at least 0.000").

A run refused here stops with one sentence (the `champion_model` or `household_scores` step
raises `dagster.Failure` with it); the warehouse keeps its ingest bookkeeping, as for any
stopped run, and nothing is published. The rules, in the order they are tried:

1. **crises** - the training window (features at T-24, crises in the year after) and the
   validation window (T-12) each need at least one household with a crisis: without one
   there is nothing to learn from, or nothing to judge by.
2. **flat scores** - on the validation window the model must tell households apart, by two
   measures that hold at any number of households and any crisis rate:
   - the mean score of its top 1% must exceed the median household's score by more than 1%
     of that median (`FLAT_GAP`); constant scores, and scores that differ only by rounding
     noise, fail;
   - no more than half of its top 1% may share a score with the first household below the
     cut (`MAX_TIED_SHARE`): otherwise who is "very high" is decided by pseudonym order.
   The scores that are published, at T, are held to the same rule (`scores_refusal`).
3. **the baseline** - "better than counting contacts" is judged with its uncertainty: the
   candidate is chosen (hearth/modelling/training/choice.py) by average precision over the whole
   validation
   window, and a learned model is chosen only if a paired bootstrap over the validation
   households puts it ahead of the contact-count baseline beyond chance (p below
   `hearth.modelling.evaluation.metrics.BETTER_P`; the baseline is always fitted for this, even when
   it is not a
   candidate). This rule checks that lead again and refuses a learned model without it.
   When no learned candidate has that lead, the contact-count ranking itself is published
   (not nothing): it is registered as a version like any other (tag `candidate=baseline`,
   and `hearth.contact_count` carrying the sentence every output shows), and the promotion
   rule applies to it unchanged. It is refused only if it is degenerate too: flat scores
   (rule 2), or a precision at 1% no higher than a list drawn at random (the crisis rate).
4. **changed by the list** (issue 26) - a candidate whose training outcomes include an outcome
   a published list changed, as it stands (hearth/modelling/training/safe_updating.py), would
   learn that the help's effect is the household's low risk: it is refused. Once the hold-out
   lottery tells what an offer does (`offer_correction.RULE_CORRECTED`), a household a list named
   (not held out) or offered help is kept with each crisis counted as it would have been
   without the offer: the rule refuses a changed household whose crisis rows are not that
   count. Until then it counts only until its first listing (`censoring.RULE`): the rule
   refuses a training row of a household first listed before its window opened, or a crisis
   label of a household censored at its first listing inside the window. A household visited
   from a list in the year before the training date trains on its features as of its first
   visit (`visit_features.RULE_FEATURES`): the visit took crises out of its later history, and
   a model trained on that history learns the visit as low risk; the rule refuses a training
   window whose visited households' features are not those (`features_refusal`). Training
   applies the rule (stated in the refusal and on the card); this rule is its guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hearth.modelling.training.candidates import BETTER_P
from hearth.modelling.training.censoring import Censoring
from hearth.modelling.training.offer_correction import Correction
from hearth.modelling.training.visit_features import RULE_FEATURES, Frozen

FLAT_GAP = 0.01  # the top 1% must score more than 1% above the median household
MAX_TIED_SHARE = 0.5  # at most half the top 1% may tie with the first household below it
TOP_SHARE = 0.01
NOT_KEPT = "it was not registered, nothing was published and @champion is unchanged."


@dataclass
class Refusal:
    rule: str  # crises | flat_scores | baseline
    sentence: str
    metadata: dict[str, object] = field(default_factory=dict)


def _words(kind: str) -> str:
    return {"baseline": "contact-count baseline"}.get(kind, kind.replace("_", " "))


def window_refusal(
    train_y: np.ndarray, valid_y: np.ndarray, train_as_of: str, valid_as_of: str
) -> Refusal | None:
    for y, as_of, window, why in (
        (train_y, train_as_of, "training", "no model can be trained"),
        (valid_y, valid_as_of, "validation", "no version can be judged"),
    ):
        if int(np.asarray(y).sum()) == 0:
            return Refusal(
                "crises",
                f"No household had a crisis in the 12 months after {as_of} (the {window} "
                f"window), so {why}; nothing was registered or published and @champion is "
                "unchanged. Check that the health, fire, police and social care extracts "
                "cover that year.",
                {"window": window, "as_of": as_of, "households": int(len(y))},
            )
    return None


def flat_scores(scores: np.ndarray) -> str | None:
    """Why these scores cannot rank households (a phrase to follow the model's name), or None."""
    scores = np.asarray(scores, dtype=float)
    if len(scores) == 0:
        return "gives no household a score"
    if not np.isfinite(scores).all():
        return "gives some households no score (not a number)"
    ranked = np.sort(scores)[::-1]
    k = max(1, int(np.ceil(TOP_SHARE * len(ranked))))
    top, median = ranked[:k], float(np.median(ranked))
    if float(top.mean()) - median <= FLAT_GAP * abs(median):
        return (
            f"gives nearly every household the same score (its top 1% average "
            f"{float(top.mean()):.4f} against {median:.4f} for the median household; more "
            "than 1% above it is needed to rank)"
        )
    if k < len(ranked):
        tied = int((top == ranked[k]).sum())
        if tied > MAX_TIED_SHARE * k:
            return (
                f"gives {tied} of its top 1% ({k} households) the same score as the household "
                "just below them, so who is listed first would be decided by pseudonym order, "
                "not by risk"
            )
    return None


def model_refusal(result, valid_y: np.ndarray) -> Refusal | None:
    """Rules 2 and 3 for a trained result (hearth/modelling/training/selection.py
    TrainingResult)."""
    kind, window = result.kind, result.valid_as_of
    p1 = float(result.metrics["precision_at_1pct"])
    meta: dict[str, object] = {"candidate": kind, "precision_at_1pct": p1, "as_of": window}
    flat = flat_scores(result.valid_scores)
    if flat:
        return Refusal(
            "flat_scores",
            f"The chosen model ({_words(kind)}) {flat} on the validation window ({window}), so "
            f"it cannot rank households; {NOT_KEPT}",
            meta,
        )
    if kind == "baseline":
        rate = float(np.asarray(valid_y).mean())
        meta["crisis_rate"] = rate
        if not p1 > rate:
            return Refusal(
                "baseline",
                f"The contact-count baseline's precision at 1% ({p1:.3f}) does not beat a list "
                f"drawn at random (the crisis rate, {rate:.3f}) on the validation window "
                f"({window}); {NOT_KEPT}",
                meta,
            )
        return None  # the contact-count ranking publishes: result.contact_count_fallback says so
    lead = float(result.metrics.get("baseline_check.ap_difference", float("nan")))
    p = float(result.metrics.get("baseline_check.ap_p_value", 1.0))
    meta |= {"ap_lead_over_baseline": lead, "ap_lead_p_value": p}
    if not (lead > 0 and p < BETTER_P):
        ahead = "no measured lead" if lead != lead else f"a lead of {lead:.3f}"
        return Refusal(
            "baseline",
            f"The chosen model ({_words(kind)}) has {ahead} in average precision over the "
            f"contact-count baseline on the validation window ({window}), which chance gives "
            f"with p = {p:.3f} (below {BETTER_P} is needed), so it adds nothing to counting "
            f"contacts; {NOT_KEPT}",
            meta,
        )
    return None


def list_refusal(
    train_pids: np.ndarray,
    train_y: np.ndarray,
    rule: Censoring | Correction,
    train_as_of: str,
    valid_as_of: str,
) -> Refusal | None:
    """Rule 4: no training outcome may be one the list changed as it stands: a household counts
    only until its first listing (`censoring.Censoring.breaches`), or its crises count as
    they would have without the offer (`offer_correction.Correction.breaches`)."""
    n = rule.breaches(train_pids, train_y)
    if n == 0:
        return None
    return Refusal(
        "changed_by_list",
        f"{n} of the households the model would be trained on (as at {train_as_of}, crises to "
        f"{valid_as_of}) carry an outcome from after a published list named them or offered "
        "them help, counted as it was, so it shows the help, not their risk; a model trained "
        "on them would learn to drop the households the visits helped. "
        f"The rule to train by: {rule.text} {NOT_KEPT[0].upper()}{NOT_KEPT[1:]}",
        {"changed_households": n, "train_as_of": train_as_of},
    )


def features_refusal(frame, frozen: Frozen, valid_as_of: str) -> Refusal | None:
    """Rule 4 for the training features: a household visited from a list before the training
    date trains on its features as of its first visit (`visit_features.Frozen.breaches`)."""
    n = frozen.breaches(frame)
    if n == 0:
        return None
    return Refusal(
        "changed_by_list",
        f"{n} of the households the model would be trained on (as at {frozen.as_of}, crises to "
        f"{valid_as_of}) were visited from a list before then and carry features counted after "
        "the visit, so their history shows the help, not their risk; a model trained on it "
        f"would learn to drop the households the visits helped. The rule to train by:"
        f"{RULE_FEATURES} {NOT_KEPT[0].upper()}{NOT_KEPT[1:]}",
        {"changed_households": n, "train_as_of": frozen.as_of},
    )


def scores_refusal(scores: np.ndarray, as_of: str, version: str) -> Refusal | None:
    """Rule 2 for the scores about to be published at T."""
    flat = flat_scores(scores)
    if not flat:
        return None
    return Refusal(
        "flat_scores",
        f"The champion (version {version}) {flat} at {as_of}, so the list would rank "
        "households by pseudonym order, not by risk; nothing was published and @champion is "
        "unchanged. The newest extracts may have blanked the features (a month dated in the "
        "future, or a changed format): check them, land corrected files and run again.",
        {"as_of": as_of, "model_version": version, "households": int(len(scores))},
    )
