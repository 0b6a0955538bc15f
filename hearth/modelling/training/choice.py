"""How the candidate that publishes is chosen: by average precision over the whole validation
window, with its uncertainty, simplest first; and what is said when none beats counting
contacts (hearth/modelling/evaluation/gate.py, hearth/modelling/training/selection.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hearth.modelling.evaluation.metrics import paired_ap_difference
from hearth.modelling.training.candidates import BETTER_P

# Simplest first: a candidate is chosen over a simpler one only when it ranks the validation
# window better beyond chance.
SIMPLEST_FIRST = ("baseline", "logistic", "gradient_boosting", "ensemble")


def words(kind: str) -> str:
    return {
        "baseline": "contact-count baseline",
        "logistic": "logistic regression",
        "gradient_boosting": "gradient-boosted trees",
    }.get(kind, kind.replace("_", " "))


@dataclass
class Choice:
    kind: str
    steps: list[dict]  # each comparison: candidate, against, ap_difference, p_value, better
    sentence: str

    # each bootstrap the choice drew, by (candidate, against): `paired_ap_difference`'s answer
    comparisons: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def compared(self, candidate: str, against: str) -> dict[str, float] | None:
        """The choice's own `paired_ap_difference` of `candidate` against `against` (default
        resamples and seed), or None if it drew none: a caller needing the same comparison
        reads it here rather than drawing it again."""
        return self.comparisons.get((candidate, against))

    @property
    def fallback(self) -> bool:
        """No learned candidate beat counting contacts: the contact-count ranking publishes."""
        return self.kind == "baseline" and any(s["against"] == "baseline" for s in self.steps)


def choose(
    y: np.ndarray,
    scores: dict[str, np.ndarray],
    household_pid: np.ndarray,
    candidates,
    better_p: float = BETTER_P,
) -> Choice:
    """The candidate to publish, chosen by average precision over the whole validation window
    (every household with a crisis counts, not only the few in the top 1%) with its
    uncertainty: starting from the contact-count baseline (always in `scores`, the reference
    even when it is not a candidate), each learned candidate in order of complexity
    (`SIMPLEST_FIRST`) replaces the one chosen so far only if a paired bootstrap over the
    validation households shows it ahead beyond chance (p below `better_p`). A lead of 0.001
    in average precision on one year is noise: the simpler candidate is kept. When none beats
    the baseline, the baseline is chosen (`Choice.fallback`)."""
    rank = {k: i for i, k in enumerate(SIMPLEST_FIRST)}
    learned = sorted(
        (k for k in candidates if k != "baseline"), key=lambda k: rank.get(k, len(rank))
    )
    current, steps = "baseline", []
    drawn: dict[tuple[str, str], dict[str, float]] = {}
    for kind in learned:
        if not np.isfinite(scores[kind]).all():
            steps.append(
                {
                    "candidate": kind,
                    "against": current,
                    "ap_difference": float("nan"),
                    "p_value": 1.0,
                    "better": False,
                }
            )
            continue
        cmp = paired_ap_difference(y, scores[kind], scores[current], household_pid)
        better = bool(cmp["ap_difference"] > 0 and cmp["p_value"] < better_p)
        steps.append(
            {
                "candidate": kind,
                "against": current,
                "ap_difference": cmp["ap_difference"],
                "p_value": cmp["p_value"],
                "better": better,
            }
        )
        drawn[(kind, current)] = cmp
        if better:
            current = kind
    return Choice(current, steps, choice_sentence(current, steps, better_p), drawn)


def choice_sentence(kind: str, steps: list[dict], better_p: float = BETTER_P) -> str:
    """The choice in words, comparison by comparison."""
    if not steps:
        return f"The {words(kind)} was the only candidate."
    said = []
    for s in steps:
        d, p = s["ap_difference"], s["p_value"]
        lead = (
            "could not be scored"
            if d != d
            else f"{'ahead' if d > 0 else 'behind'} by {abs(d):.3f} in average precision "
            f"(p = {p:.3f} by a paired bootstrap over households)"
        )
        verdict = (
            "better beyond chance, so it was preferred"
            if s["better"]
            else (
                f"not better beyond chance (p below {better_p} is needed), so the simpler "
                f"{words(s['against'])} was kept"
            )
        )
        said.append(
            f"the {words(s['candidate'])} against the {words(s['against'])}: {lead}, {verdict}"
        )
    said_all = "; ".join(said)
    return f"Chosen: the {words(kind)}. Compared on the validation window, {said_all}."


def fallback_sentence(steps: list[dict], valid_as_of: str) -> str:
    """What every output says when the contact-count ranking is published."""
    names = ", ".join(words(s["candidate"]) for s in steps)
    return (
        f"No learned model ({names}) ranked the validation year ({valid_as_of}) better than "
        "counting each household's agency contacts beyond chance, so this list is the "
        "contact-count ranking: households ordered by their agency contacts in the last 12 "
        "months. It is still a list to work from; a learned model replaces it when one does "
        "better by a margin the data can show."
    )
