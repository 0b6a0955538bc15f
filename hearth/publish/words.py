"""Words shared by the workbook's cover sheet and report.html, so both say the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hearth.features.catalogue import load_catalogue
from hearth.features.wording import reason_key
from hearth.publish.ranked import TIER_CUTS

HOW_TO_READ = [
    "Households are in order of their estimated chance of reaching a crisis in the next 12 "
    "months (an emergency hospital admission, a fire in the home, high-risk domestic abuse, a "
    "child protection plan or a child becoming looked after). Rank 1 is the household to reach "
    "first.",
    "The chance is the model's calibrated estimate: of 100 households shown at 20%, about 20 "
    "would be expected to reach a crisis without help. Adding up the chances of the households a "
    "team can visit gives the number of crises that team could expect to meet.",
    "Risk tiers follow the ranking: very high is the top 1% of all households, high the next 4%, "
    "raised the next 15%, usual the rest.",
    "The three reasons are what raised this household's estimate most, in plain words, from what "
    "the agencies recorded; a reason on several kinds of record names the kinds this household "
    "has (the words are defined once, in the key below). Each view, this one included, says "
    "only what the data contracts let its readers see: the strongest reasons among those "
    "records, at the level of detail they may see (in the commissioners' view, 'emergency "
    "hospital admissions' but not what they were for, 'domestic abuse incidents' but not their "
    "risk level); 'other agency information' means only records this view may not show explain "
    "this household.",
    "The suggested lead agency is who the partnership's rules say is best placed to offer "
    "support first; it is a suggestion for the team, not a referral. 'Why this lead' gives the "
    "rule and the household's records that fired it (a rule leads only when one of the reasons "
    "is about the same records), or the strongest reason when no rule does. 'Another agency' "
    "means the lead follows from records this view may not show; that agency knows who it is.",
    "Households are identified by pseudonym only. An agency can find the households it already "
    "knows with the hearth reidentify command, using the key shared between partners.",
]

NOT_FOR = [
    "deciding anyone's eligibility for a service or benefit, or withdrawing a service;",
    "enforcement, investigation, immigration, housing allocation or any sanction;",
    "any decision about a person without a practitioner's own judgement and conversation;",
    "sharing outside the partnership or with the household as a 'score'; contact is an offer "
    "of voluntary support.",
]

KEY_TITLE = "Words used in the reasons"
KEY_NOTE = (
    "A reason on one of these names the kinds of record behind it for that household. In a "
    "partner's own view, they count only the records that partner may see."
)


def reason_key_rows(role: str = "commissioner") -> list[tuple[str, str]]:
    """(words, what they count) for the key beside a role's list: each theme's definition as
    the role may read it, once. Every published list is a role's view; the commissioners' is
    the main list and the report's."""
    return reason_key(load_catalogue(), role)


LIMITS = (
    "The model sees only what the agencies recorded: a household that has not come to anyone's "
    "notice scores low whatever its need."
)


MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_words(month: str | None) -> str:
    """A YYYY-MM month for people: "January 2026" (anything else is shown as it is)."""
    text = str(month or "")
    year, _, mm = text.partition("-")
    if year.isdigit() and mm.isdigit() and 1 <= int(mm) <= 12 and len(year) == 4:
        return f"{MONTHS[int(mm) - 1]} {year}"
    return text


def when_words(stamp: str | None) -> str:
    """A timestamp (ISO 8601, as run_summary.json keeps it) for people, in UK time:
    "1 December 2026, 19:35". Anything that is not a timestamp is shown as it is."""
    text = str(stamp or "")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(ZoneInfo("Europe/London"))
        zone = ""
    except Exception:  # noqa: BLE001 - no time zone database: say the time is UTC
        moment, zone = moment.astimezone(UTC), " UTC"
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}{zone}"


def percent(share: object, places: int = 1) -> str:
    """A share (0 to 1) as people read it, the one format for shares on every page: "28.0%";
    "" for a missing value."""
    try:
        v = float(share)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if v != v else f"{v * 100:.{places}f}%"


@dataclass(frozen=True)
class ListMeta:
    """What the cover of a list says about it."""

    as_of: str
    model: str  # e.g. "household_crisis_risk version 3"
    generated_at: str
    households: int  # households scored
    published: int  # households in this file
    top_words: str  # e.g. "the top 5% of all households (the very high and high tiers)"
    role: str | None = None  # whose view; the main workbook is the commissioners' (None: theirs)
    # set when the list is the contact-count ranking because no learned model beat it
    ranking_notice: str | None = None
    # set when households were held out of this list by the hold-out lottery (issue 26)
    holdout_notice: str | None = None


def top_words(top: float, published: int) -> str:
    if top < 1:
        pct = f"{top * 100:g}%"
        ends = {f"{cut * 100:g}%": i for i, (_, cut) in enumerate(TIER_CUTS)}
        which = ""
        if pct in ends:  # the top is where a tier ends: name the tiers it holds
            tiers = [t for t, _ in TIER_CUTS[: ends[pct] + 1]]
            named = tiers[0] if len(tiers) == 1 else f"{', '.join(tiers[:-1])} and {tiers[-1]}"
            which = f" (the {named} tier{'s' if len(tiers) > 1 else ''})"
        return f"the top {pct} of all households{which}: {published:,} households"
    return f"the top {published:,} households"


def list_meta(summary: dict, published: int, top: float, role: str | None) -> ListMeta:
    model = summary.get("model") or {}
    version = model.get("version")
    name = model.get("name", "household_crisis_risk")
    return ListMeta(
        as_of=str(summary.get("as_of")),
        model=(f"{name} version {version}" if version else f"{name} (no champion)")
        + (" - the contact-count ranking" if model.get("contact_count") else ""),
        generated_at=str(summary.get("generated_at", "")),
        households=int(summary.get("households_scored", 0)),
        published=published,
        top_words=top_words(top, published),
        role=role,
        ranking_notice=model.get("contact_count") or None,
        holdout_notice=(summary.get("holdout") or {}).get("sentence")
        if (summary.get("holdout") or {}).get("held_out")
        else None,
    )
