"""Capacity plans: split the top of the list into each team's visits for the month.

A small YAML file names the teams (see docs/capacity.example.yaml):

    teams:
      - team: North safe and well
        agency: fire                 # an agency the data contracts declare
        areas: [E06000901]           # local authority or ward codes; none = everywhere
        visits_per_month: 40
        lead_only: false             # true: only households this agency should lead

Households are taken in rank order. Each goes to one team for its first visit: among the teams
that cover its area and still have visits left, a team of the suggested lead agency comes first,
then the team with the narrowest area (ward before local authority before everywhere), then the
order of the file. A household another agency has a part in too ("also": that agency's lead rule
holds for it, as the agency's own view shows) goes as well to one team of that agency with
visits left (narrowest area first; a `lead_only` team takes these too), so a fire safety visit
is planned where domestic abuse leads. A team's plan is in its
agency's view of the list. Because the scores are calibrated, the mean score of a team's
households is the share of them expected to reach a crisis: the precision to expect at that
team's capacity."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import yaml

from hearth.publish.roles import ROLE_REASONS, role_also, role_view
from hearth.sources import AGENCIES


class CapacityError(ValueError):
    """The capacity file is missing or malformed, in a plain sentence."""


@dataclass(frozen=True)
class Team:
    name: str
    agency: str
    areas: tuple[str, ...] = ()
    visits_per_month: int = 0
    lead_only: bool = False

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-") or "team"


@dataclass
class TeamPlan:
    team: Team
    households: pl.DataFrame  # rank order, with visit_order
    led_by_agency: int = 0
    also_by_agency: int = 0  # households planned because this agency is "also" for them

    @property
    def planned(self) -> int:
        return self.households.height

    @property
    def expected_crises(self) -> float:
        return float(self.households["score"].sum()) if self.planned else 0.0

    @property
    def expected_precision(self) -> float | None:
        return self.expected_crises / self.planned if self.planned else None

    def summary(self) -> dict[str, object]:
        return {
            "team": self.team.name,
            "agency": self.team.agency,
            "areas": list(self.team.areas),
            "visits_per_month": self.team.visits_per_month,
            "planned": self.planned,
            "unused_visits": self.team.visits_per_month - self.planned,
            "led_by_this_agency": self.led_by_agency,
            "also_for_this_agency": self.also_by_agency,
            "expected_crises": round(self.expected_crises, 2),
            "expected_precision": (
                None if self.expected_precision is None else round(self.expected_precision, 4)
            ),
            "file": f"plans/{self.team.slug}.csv",
        }


@dataclass
class Plan:
    teams: list[TeamPlan]
    considered: int  # households at the top of the list that were offered to teams
    not_planned: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {
            "households_considered": self.considered,
            "households_planned": sum(t.planned for t in self.teams),
            "households_not_planned": self.not_planned,
            "teams": [t.summary() for t in self.teams],
        }


def load_capacity(path: Path) -> list[Team]:
    path = Path(path)
    if not path.is_file():
        raise CapacityError(f"The capacity file {path} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise CapacityError(f"The capacity file {path} is not valid YAML{where}.") from None
    items = raw.get("teams") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        raise CapacityError(f"{path}: expected a list of teams under 'teams:'.")
    teams: list[Team] = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise CapacityError(f"{path}: team {i} is not a mapping of team, agency, areas, ...")
        name = str(item.get("team") or "").strip()
        if not name:
            raise CapacityError(f"{path}: team {i} has no name ('team:').")
        agency = item.get("agency")
        if agency not in AGENCIES:
            raise CapacityError(
                f"{path}: team '{name}' has agency {agency!r}; use one of {', '.join(AGENCIES)}."
            )
        areas = item.get("areas") or []
        if isinstance(areas, str):
            areas = [areas]
        if not isinstance(areas, list) or not all(isinstance(a, str | int) for a in areas):
            raise CapacityError(f"{path}: team '{name}' areas must be a list of codes.")
        visits = item.get("visits_per_month")
        if not isinstance(visits, int) or isinstance(visits, bool) or visits < 0:
            raise CapacityError(
                f"{path}: team '{name}' needs visits_per_month, a whole number of 0 or more."
            )
        lead_only = item.get("lead_only", False)
        if not isinstance(lead_only, bool):
            raise CapacityError(f"{path}: team '{name}' lead_only must be true or false.")
        teams.append(Team(name, agency, tuple(str(a) for a in areas), visits, lead_only))
    slugs = [t.slug for t in teams]
    dupes = sorted({s for s in slugs if slugs.count(s) > 1})
    if dupes:
        raise CapacityError(f"{path}: two teams share the name '{dupes[0]}'; names must differ.")
    return teams


def lead_role(lead: str | None, leads: Mapping[str, str]) -> str | None:
    """The agency behind a suggested lead, as the lead rules declare it (`leads` in
    hearth/modelling/scoring/lead_agency.yaml, read by
    hearth.modelling.scoring.reasons.lead_agencies): never guessed from its words."""
    return leads.get(lead) if lead else None


def _leads_seen(top: pl.DataFrame, agencies: set[str]) -> dict[str, list[str | None]] | None:
    """Each household's lead as each agency's view shows it, for a list scored with role
    words (None for one scored before: its lead is used as it is)."""

    if ROLE_REASONS not in top.columns:
        return None
    return {a: role_view(top, a)["lead_agency"].to_list() for a in agencies}


def _alsos_seen(
    top: pl.DataFrame, agencies: set[str], leads: Mapping[str, str]
) -> dict[str, list[bool]]:
    """For each agency, whether its own view of each household names it "also" (one of its
    services' lead rules holds there); all False for a list scored before "also" was kept."""
    if ROLE_REASONS not in top.columns:
        return {a: [False] * top.height for a in agencies}
    encoded = top[ROLE_REASONS].to_list()
    return {
        a: [any(lead_role(x, leads) == a for x, _ in role_also(e, a)) for e in encoded]
        for a in agencies
    }


def _coverage(team: Team, la: str | None, ward: str | None) -> int | None:
    """0 ward match, 1 local authority match, 2 everywhere; None if the team does not cover."""
    if not team.areas:
        return 2
    if ward is not None and ward in team.areas:
        return 0
    if la is not None and la in team.areas:
        return 1
    return None


def _also_teams(
    teams: list[Team], left: list[int], also: dict[str, list[bool]], i: int, la, ward
) -> list[int]:
    """For household `i`, one team (narrowest area first) of each agency that is "also" for
    it, among the teams with visits left that cover its area."""
    best: dict[str, tuple[int, int]] = {}
    for j, team in enumerate(teams):
        if not left[j] or not also[team.agency][i]:
            continue
        cover = _coverage(team, la, ward)
        if cover is not None and (team.agency not in best or (cover, j) < best[team.agency]):
            best[team.agency] = (cover, j)
    return [j for _, j in best.values()]


def allocate(top: pl.DataFrame, teams: list[Team], leads: Mapping[str, str]) -> Plan:
    """`top`: the top of the list in rank order with rank, household_pid, la_code, ward_code,
    score, lead_agency; `leads`: each lead's agency
    (hearth.modelling.scoring.reasons.lead_agencies). Returns
    each team's households and what was left unplanned."""
    left = [t.visits_per_month for t in teams]
    chosen: list[list[int]] = [[] for _ in teams]
    led = [0] * len(teams)
    not_planned = 0
    seen = _leads_seen(top, {t.agency for t in teams})
    also = _alsos_seen(top, {t.agency for t in teams}, leads)
    also_n = [0] * len(teams)
    rows = top.select("la_code", "ward_code", "lead_agency").iter_rows()
    for i, (la, ward, lead) in enumerate(rows):
        if not any(left):
            not_planned += top.height - i
            break
        extra = _also_teams(teams, left, also, i, la, ward)
        # who leads, as each team's agency may read it: a team is never handed a household
        # for a lead whose reason its agency may not see (its plan would tell it)
        wants = [lead_role(seen[t.agency][i] if seen else lead, leads) for t in teams]
        best, best_key = None, None
        for j, team in enumerate(teams):
            if not left[j] or (team.lead_only and team.agency != wants[j]):
                continue
            cover = _coverage(team, la, ward)
            if cover is None:
                continue
            key = (team.agency != wants[j], cover, j)
            if best_key is None or key < best_key:
                best, best_key = j, key
        if best is not None:
            chosen[best].append(i)
            left[best] -= 1
            led[best] += teams[best].agency == wants[best]
        planned = best is not None
        for j in extra:  # the agencies with a part too, one team each
            if (best is not None and teams[j].agency == teams[best].agency) or not left[j]:
                continue
            chosen[j].append(i)
            left[j] -= 1
            also_n[j] += 1
            planned = True
        not_planned += not planned
    plans = []
    for j, team in enumerate(teams):
        part = top[chosen[j]] if chosen[j] else top.clear()
        part = part.with_columns(pl.int_range(1, part.height + 1).alias("visit_order"))
        plans.append(TeamPlan(team, part, led[j], also_n[j]))
    return Plan(plans, top.height, not_planned)
