"""The model card's "Safe updating" (issue 26): the rule training followed, the hold-out, and
whether the model can be safely retrained (hearth/modelling/training/safe_updating.py)."""

from __future__ import annotations


def safe_updating_lines(result) -> list[str]:
    """The card's "Safe updating" (issue 26): the rule, the hold-out, whether safe to retrain."""
    su = getattr(result, "safe_updating", None) or {}
    lines = ["## Safe updating", ""]
    if not su:
        return [*lines, "- No record of which households a list changed was kept with this model."]
    lines.append(f"- Rule: {su['rule']}")
    if su.get("mode") == "corrected":
        changed, moved = su["changed_households"], su["corrected_households"]
        ev = su.get("offer_evidence") or {}
        if ev.get("raw_ratio") is not None:
            lines.append(
                f"- What the lottery shows: {ev['offered_crises']:,} of {ev['offered']:,} "
                f"households offered help had a crisis against {ev['held_out_crises']:,} of "
                f"{ev['held_out']:,} held out, a ratio of {ev['raw_ratio']:.2f}; weighed "
                "against the prior that an offer changes nothing (the more crises, the more "
                "the lottery counts), training used the ratio below."
            )
        elif ev:
            lines.append(
                "- No list with a lottery is yet old enough to show what an offer does, so "
                "training used the prior's ratio, 1: until it is, the crises of households a "
                "list named count once, as naive retraining would count them."
            )
        lines.append(
            f"- The lottery's offer ratio (crisis rate offered over held out): "
            f"{su['offer_ratio']:.2f}. Every household was kept: {changed['training']:,} "
            f"training and {changed['validation']:,} validation households were named by a "
            f"list or offered help from one, and the crises of {moved['training']:,} and "
            f"{moved['validation']:,} of them count as they would have without the offer."
        )
    elif not su["excluded_training_households"] and not su["excluded_validation_households"]:
        lines.append(
            "- No published list had been acted on in the training or validation years, so "
            "every household's outcomes were used."
        )
    else:
        lines.append(
            f"- Left out: {su['excluded_training_households']:,} training and "
            f"{su['excluded_validation_households']:,} validation households a list named or "
            "offered help before the window opened (their whole year may show the help)."
        )
        for name, c in (su.get("censored") or {}).items():
            if not (c["censored"] or c["crisis_before"]):
                continue
            lines.append(
                f"- Censored at their first listing inside the {name} window: "
                f"{c['crisis_before']:,} households kept with the crisis they had before it; "
                f"{c['censored']:,} with no crisis before it count as crisis-free only for the "
                f"share of the year before their listing ({c['censored_kept']:,} kept by a "
                "draw weighted by that share), not for the whole year."
            )
    frozen = su.get("frozen_features") or {}
    if frozen.get("training") or frozen.get("validation"):
        lines.append(
            f"- Features as before the visit: {frozen['training']:,} training and "
            f"{frozen['validation']:,} validation households visited from a list in the year "
            "before their window's date entered it with their features as of the month of "
            "their first visit, so their history does not show the help."
        )
    lines.append(
        f"- Hold-out in the training year: {su['held_out_households']:,} households, "
        f"{su['held_out_crises']:,} of them with a crisis in the 12 months after."
    )
    lines += [f"- {su['margin_note']}"] if su.get("margin_note") else []
    share = su.get("smallest_share")
    if share is not None and share == 0:
        lines.append(
            "- **This model cannot be safely retrained**: a list in its years held nobody out "
            "(hold-out share 0), so the outcomes of the households most at risk all show the "
            "help they were offered and none show their risk without it."
        )
    elif not su["safe"]:
        lines.append(
            "- **This model cannot be safely retrained**: lists were acted on but no held-out "
            "household is in its training year."
        )
    return lines
