"""The switches of the mechanisms that make the synthetic world less flattering (issue 27),
re-exported by `params.py` with every other parameter of the world.

Each mechanism is off by default, so the defaults give today's world byte for byte. Every random
choice a mechanism makes is drawn once per seed from its own stream (mechanisms.py) and written to
truth/world.json under "mechanisms". docs/synthetic-world.md has the model.
"""

from __future__ import annotations

from dataclasses import dataclass

SEASON_PEAK_MONTH = {  # calendar month (1-12) at which each source's records peak
    "health": 1,
    "social_care": 10,
    "fire": 11,
    "police": 7,
    "crisis": 1,  # every crisis hazard: winter pressures
}


@dataclass(frozen=True)
class WorldParams:
    """Switches and strengths of the mechanisms that make the world less flattering.

    - drawn_table: the record-to-problem table is drawn per seed. Each signalling record kind
      is re-tied to another problem with probability `cross_share`; its log rate ratio
      log(lam1 / lam0) is scaled by U(`strength`); with probability `protective_share` it turns
      protective (lam0 becomes sqrt(lam0 lam1) and the ratio (lam0 / lam1)^(f / 4), f from
      `strength`); each background record kind gets a weak tie to a random problem with
      probability `background_share`, log ratio +-U(`background_strength`) (negative with
      probability `protective_share`). Each crisis loading a is scaled by U(`crisis_strength`).
    - cooccurrence: problems co-occur through a hidden household factor u ~ N(0, 1) (cut into
      `factor_nodes` equal-probability bins at their conditional means): problem k's log-odds of
      being present move by c_k u, c_k = cooccurrence x U(`loading`). 0: independent problems.
    - recording_changes: that many recording-practice changes, each in one authority from one
      month (drawn in the middle half of the landed months) onwards: either one record kind
      (a code used more or less) or one source's whole coverage, times a factor drawn
      log-uniformly from `change_down` or `change_up` (equally likely).
    - rising_prevalence: one problem's monthly onset (drawn per seed) rises by this share over
      the landed months (0.5: 1.5 times the onset at the end), and keeps rising after.
    - seasonality: every rate (records and crises) is times 1 + s cos(2 pi (month - peak) / 12),
      peaks in `SEASON_PEAK_MONTH`.
    - area_recording_sd: each authority and each ward records each source at its own rate:
      non-crisis rates times exp(N(0, sd)) per (authority, source) and per (ward, source).
    Recording mechanisms (changes, area rates) touch non-crisis records only: a crisis is
    always recorded, so the labels keep meaning what happened.
    """

    drawn_table: bool = False
    cross_share: float = 0.3
    strength: tuple[float, float] = (0.3, 1.0)
    protective_share: float = 0.1
    background_share: float = 0.5
    background_strength: tuple[float, float] = (0.2, 0.7)
    crisis_strength: tuple[float, float] = (0.7, 1.3)
    cooccurrence: float = 0.0
    loading: tuple[float, float] = (0.5, 1.5)
    factor_nodes: int = 5
    recording_changes: int = 0
    change_down: tuple[float, float] = (0.4, 0.7)
    change_up: tuple[float, float] = (1.5, 2.5)
    rising_prevalence: float = 0.0
    seasonality: float = 0.0
    area_recording_sd: float = 0.0

    @property
    def is_default(self) -> bool:
        """No mechanism on: today's world."""
        return not self.active()

    def active(self) -> list[str]:
        on = {
            "drawn_table": self.drawn_table,
            "cooccurrence": self.cooccurrence > 0,
            "recording_changes": self.recording_changes > 0,
            "rising_prevalence": self.rising_prevalence != 0,
            "seasonality": self.seasonality > 0,
            "area_recording": self.area_recording_sd > 0,
        }
        return [name for name, v in on.items() if v]

    def check(self) -> None:
        """Refuse values outside the documented ranges, in a sentence."""
        problems = []
        for name in ("cross_share", "protective_share", "background_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1]")
        for name in ("strength", "background_strength", "crisis_strength", "loading"):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo <= hi:
                problems.append(f"{name} must be a range lo <= hi, both 0 or more")
        for name in ("change_down", "change_up"):
            lo, hi = getattr(self, name)
            if not 0.0 < lo <= hi:
                problems.append(f"{name} must be a range 0 < lo <= hi")
        if self.cooccurrence < 0 or self.seasonality < 0 or self.area_recording_sd < 0:
            problems.append("cooccurrence, seasonality and area_recording_sd must be 0 or more")
        if self.seasonality >= 1:
            problems.append("seasonality must be below 1 (a rate cannot go negative)")
        if self.rising_prevalence <= -1:
            problems.append("rising_prevalence must be above -1")
        if not 2 <= self.factor_nodes <= 12:
            problems.append("factor_nodes must be 2 to 12")
        if not 0 <= self.recording_changes <= 20:
            problems.append("recording_changes must be 0 to 20")
        if problems:
            raise ValueError("World parameters out of range: " + "; ".join(problems) + ".")


# The preset `hearth synth --realistic` uses: every mechanism on at its documented strength.
REALISTIC = WorldParams(
    drawn_table=True,
    cooccurrence=0.8,
    recording_changes=2,
    rising_prevalence=0.5,
    seasonality=0.2,
    area_recording_sd=0.3,
)
# One mechanism at a time, at the preset's strength (`hearth synth --mechanism NAME`).
MECHANISMS: dict[str, dict[str, object]] = {
    "drawn_table": {"drawn_table": True},
    "cooccurrence": {"cooccurrence": REALISTIC.cooccurrence},
    "recording_changes": {"recording_changes": REALISTIC.recording_changes},
    "rising_prevalence": {"rising_prevalence": REALISTIC.rising_prevalence},
    "seasonality": {"seasonality": REALISTIC.seasonality},
    "area_recording": {"area_recording_sd": REALISTIC.area_recording_sd},
}


def world_params(mechanisms: list[str] | tuple[str, ...]) -> WorldParams:
    """WorldParams with the named mechanisms on at the preset's strengths."""
    unknown = [m for m in mechanisms if m not in MECHANISMS]
    if unknown:
        raise ValueError(
            f"Unknown world mechanism {', '.join(unknown)}: choose from {', '.join(MECHANISMS)}."
        )
    kw: dict[str, object] = {}
    for m in mechanisms:
        kw.update(MECHANISMS[m])
    return WorldParams(**kw)  # type: ignore[arg-type]
