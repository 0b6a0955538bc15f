"""Every parameter of the synthetic world, in one place (docs/synthetic-world.md has the tables).

Rates are per household per month. Index conventions used throughout the package:
- deprivation quintile q = (imd_decile - 1) // 2, so q = 0 is the most deprived fifth;
- vulnerability k indexes `VULNS`; a record key indexes `KEYS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hearth.sources import SOURCES, is_crisis_code

# --- areas -----------------------------------------------------------------------------------
LA_CODES = ("E06000901", "E06000902", "E06000903")  # fictional unitary authorities
LA_SHARE = (0.40, 0.35, 0.25)
LA_DECILE_SHIFT = (-1.3, 0.0, 1.2)  # LA1 the most deprived, LA3 the least
WARDS_PER_LA = (10, 20)  # inclusive range
HOUSEHOLDS_PER_LSOA = 650  # as in England; at least MIN_LSOA_PER_WARD per ward
MIN_LSOA_PER_WARD = 3
WARD_DECILE_SD = 1.8
LSOA_DECILE_SD = 1.4

# --- households ------------------------------------------------------------------------------
HH_TYPES = (
    "SINGLE_YOUNG",  # one adult 18-64
    "SINGLE_OLD",  # one adult 65-95
    "COUPLE_YOUNG",
    "COUPLE_OLD",
    "FAMILY",  # two adults and 1-4 children
    "LONE_PARENT",  # one adult and 1-4 children
    "MULTI_ADULT",  # 3-5 adults 18-64
    "MULTIGEN",  # two adults, 1-3 children and one adult 65-95
)
# P(type) in the most (q=0) and least (q=4) deprived quintile; linear in between.
HH_TYPE_P_Q0 = (0.21, 0.13, 0.12, 0.07, 0.16, 0.13, 0.12, 0.06)
HH_TYPE_P_Q4 = (0.12, 0.18, 0.18, 0.15, 0.22, 0.04, 0.08, 0.03)
N_CHILDREN_P = {  # number of children 1, 2, 3, 4 (MULTIGEN uses the first three)
    "FAMILY": (0.40, 0.40, 0.15, 0.05),
    "LONE_PARENT": (0.50, 0.32, 0.13, 0.05),
    "MULTIGEN": (0.50, 0.35, 0.15),
}
N_MULTI_ADULTS_P = (0.60, 0.30, 0.10)  # 3, 4, 5 adults
OLD_AGE_MEAN_OVER_65 = 13.0  # older adults: age = 65 + exponential(mean), capped at 99

TENURES = ("OWNER_OCCUPIED", "PRIVATE_RENTED", "SOCIAL_RENTED", "OTHER")
TENURE_P_Q0 = (0.30, 0.27, 0.40, 0.03)
TENURE_P_Q4 = (0.80, 0.13, 0.05, 0.02)
OLDER_OWNER_SHIFT = 0.10  # older-only households: this much private renting moves to owning
PROPERTY_TYPES = ("HOUSE", "FLAT", "BUNGALOW", "MAISONETTE", "OTHER")
PROPERTY_P_OWNED = (0.74, 0.13, 0.09, 0.03, 0.01)
PROPERTY_P_RENTED = (0.44, 0.46, 0.02, 0.07, 0.01)
OLDER_BUNGALOW_SHARE = 0.25  # older-only households: this share live in a bungalow

ETHNIC_GROUPS = ("WHITE", "MIXED", "ASIAN", "BLACK", "OTHER", "NOT_STATED")
ETHNIC_P = (0.790, 0.030, 0.095, 0.040, 0.020, 0.025)  # England 2021-like
WARD_DIVERSITY_SD = 0.7  # log-normal ward multiplier on the non-white shares
LA_DIVERSITY = (1.5, 1.0, 0.6)
SAME_ETHNICITY_IN_HOUSEHOLD = 0.85
SEX_U_SHARE = 0.003

# Register changes (independent of everything hidden, so they carry no risk information).
TENURE_CHANGE_RATE = 0.002
PROPERTY_CORRECTION_RATE = 0.0003
LEAVE_SHARE_OF_MOVE_RATE = 0.5  # leave rate = arrival rate = move_rate * this
ARRIVAL_AGE = (18, 45)  # arrivals are adults joining an existing household

# --- hidden state ----------------------------------------------------------------------------
Z_SHAPE, Z_RATE, Z_NODES = 2.0, 2.0, 8  # frailty multiplier: Gamma(2, rate 2) in 8 equal bins


@dataclass(frozen=True)
class Vuln:
    name: str
    prevalence: tuple[float, float, float, float, float]  # stationary P(V=1) by quintile
    remission: float  # monthly P(1 -> 0); onset = remission * prev / (1 - prev)
    needs: str | None  # "child" / "old": only households with one at baseline can have it


VULNS: tuple[Vuln, ...] = (
    Vuln("smoking", (0.34, 0.26, 0.20, 0.15, 0.11), 0.02, None),
    Vuln("copd", (0.07, 0.05, 0.04, 0.03, 0.02), 0.002, None),
    Vuln("frailty", (0.40, 0.35, 0.30, 0.26, 0.22), 0.01, "old"),
    Vuln("mental_health", (0.14, 0.11, 0.09, 0.075, 0.06), 0.03, None),
    Vuln("substance_misuse", (0.08, 0.05, 0.035, 0.025, 0.015), 0.02, None),
    Vuln("domestic_abuse", (0.06, 0.045, 0.03, 0.022, 0.015), 0.03, None),
    Vuln("child_vulnerability", (0.16, 0.11, 0.08, 0.06, 0.04), 0.025, "child"),
    Vuln("hoarding", (0.025, 0.022, 0.02, 0.018, 0.016), 0.005, None),
)
K = len(VULNS)
VULN_INDEX = {v.name: i for i, v in enumerate(VULNS)}


def chain_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(onset[k, q], remission[k, q], stationary P(V=1)[k, q]) for an eligible household."""
    prev = np.array([v.prevalence for v in VULNS], dtype=np.float64)
    rem = np.repeat(np.array([v.remission for v in VULNS])[:, None], 5, axis=1)
    onset = rem * prev / (1.0 - prev)
    return onset, rem, onset / (onset + rem)


# --- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """One kind of record. Non-crisis: rate lam0 + (lam1 - lam0) * V_k. Crisis: z * (b + a * V_k),
    where b = b0 * DEP_MULT[q] + b_old * has_over75; keys that `need` a child happen only in
    households with a child at baseline."""

    source: str
    event_type: str
    attrs: tuple[tuple[str, str], ...]
    vuln: str | None
    lam0: float = 0.0
    lam1: float = 0.0
    b0: float = 0.0
    b_old: float = 0.0
    a: float = 0.0
    needs: str | None = None
    role: str = "adult"  # who in the household the record is about: adult / child / oldest

    @property
    def code(self) -> str:
        """The linked event code its records get (sql/linkage/source_events.sql), made as the
        source's contract says: `<source>:<qualifiers>:<kind>[:<first detail>]`."""
        src, attrs = SOURCES[self.source], dict(self.attrs)
        parts = [self.source, *(attrs[q] for q in src.code_qualifiers), self.event_type]
        parts += [attrs[d] for d in src.code_details if d in attrs][:1]
        return ":".join(parts)

    @property
    def crisis(self) -> bool:
        """A crisis, as the contracts define one (crisisEvents): the labels read the same."""
        return is_crisis_code(self.code)


DEP_MULT = (1.4, 1.2, 1.0, 0.85, 0.7)  # crisis base hazard by quintile

_SMOKING_RECORD_RATE = 0.04
_SMOKING_P = {"CURRENT": (0.02, 0.85), "EX": (0.28, 0.10), "NEVER": (0.70, 0.05)}  # (V=0, V=1)


def _smoking_keys() -> tuple[Key, ...]:
    r = _SMOKING_RECORD_RATE
    return tuple(
        Key(
            "health",
            "SMOKING_STATUS",
            (("smoking_status", s),),
            "smoking",
            lam0=r * p0,
            lam1=r * p1,
        )
        for s, (p0, p1) in _SMOKING_P.items()
    )


def _h(event_type: str, col: str, val: str, vuln: str | None, **kw: object) -> Key:
    return Key("health", event_type, ((col, val),), vuln, **kw)  # type: ignore[arg-type]


def _sc(service: str, event_type: str, vuln: str | None, **kw: object) -> Key:
    return Key("social_care", event_type, (("service", service),), vuln, **kw)  # type: ignore[arg-type]


KEYS: tuple[Key, ...] = (
    # health, non-crisis
    _h("LTC_REGISTER", "condition", "COPD", "copd", lam0=0.0005, lam1=0.09),
    _h("AE_ATTENDANCE", "category", "RESPIRATORY", "copd", lam0=0.002, lam1=0.075),
    _h("LTC_REGISTER", "condition", "FRAILTY", "frailty", lam0=0.0005, lam1=0.075, role="oldest"),
    _h("LTC_REGISTER", "condition", "DEMENTIA", "frailty", lam0=0.0005, lam1=0.03, role="oldest"),
    _h("AE_ATTENDANCE", "category", "FALL", "frailty", lam0=0.0015, lam1=0.075, role="oldest"),
    Key("health", "MENTAL_HEALTH_CONTACT", (), "mental_health", lam0=0.0015, lam1=0.15),
    _h("AE_ATTENDANCE", "category", "MENTAL_HEALTH", "mental_health", lam0=0.0005, lam1=0.03),
    Key("health", "SUBSTANCE_MISUSE_CONTACT", (), "substance_misuse", lam0=0.0005, lam1=0.12),
    _h("AE_ATTENDANCE", "category", "SUBSTANCE", "substance_misuse", lam0=0.0005, lam1=0.045),
    *_smoking_keys(),
    _h("LTC_REGISTER", "condition", "ASTHMA", None, lam0=0.006, lam1=0.006),
    _h("LTC_REGISTER", "condition", "DIABETES", None, lam0=0.010, lam1=0.010),
    _h("AE_ATTENDANCE", "category", "OTHER", None, lam0=0.030, lam1=0.030),
    # social care, non-crisis
    _sc(
        "CHILDREN",
        "CONTACT",
        "child_vulnerability",
        lam0=0.003,
        lam1=0.12,
        needs="child",
        role="child",
    ),
    _sc(
        "CHILDREN",
        "REFERRAL",
        "child_vulnerability",
        lam0=0.0015,
        lam1=0.075,
        needs="child",
        role="child",
    ),
    _sc(
        "CHILDREN",
        "EARLY_HELP",
        "child_vulnerability",
        lam0=0.001,
        lam1=0.06,
        needs="child",
        role="child",
    ),
    _sc(
        "CHILDREN",
        "ASSESSMENT",
        "child_vulnerability",
        lam0=0.001,
        lam1=0.06,
        needs="child",
        role="child",
    ),
    _sc(
        "CHILDREN",
        "CIN_PLAN",
        "child_vulnerability",
        lam0=0.00015,
        lam1=0.0375,
        needs="child",
        role="child",
    ),
    _sc(
        "CHILDREN",
        "SAFEGUARDING_CONCERN",
        "domestic_abuse",
        lam0=0.0005,
        lam1=0.06,
        needs="child",
        role="child",
    ),
    _sc("ADULTS", "CARE_PACKAGE", "frailty", lam0=0.00025, lam1=0.06, role="oldest"),
    _sc("ADULTS", "ASSESSMENT", "frailty", lam0=0.0005, lam1=0.045, role="oldest"),
    _sc("ADULTS", "SAFEGUARDING_CONCERN", "frailty", lam0=0.00025, lam1=0.015, role="oldest"),
    _sc("ADULTS", "CONTACT", None, lam0=0.003, lam1=0.003),
    # fire, non-crisis
    Key("fire", "FALSE_ALARM", (), "hoarding", lam0=0.001, lam1=0.06),
    Key("fire", "HOME_FIRE_SAFETY_VISIT", (), None, lam0=0.004, lam1=0.004),
    Key("fire", "SMOKE_ALARM_FITTED", (), None, lam0=0.003, lam1=0.003),
    # police, non-crisis
    Key(
        "police",
        "DOMESTIC_ABUSE",
        (("risk_level", "STANDARD"),),
        "domestic_abuse",
        lam0=0.0005,
        lam1=0.09,
    ),
    Key(
        "police",
        "DOMESTIC_ABUSE",
        (("risk_level", "MEDIUM"),),
        "domestic_abuse",
        lam0=0.0001,
        lam1=0.045,
    ),
    Key("police", "ASB", (), "substance_misuse", lam0=0.0015, lam1=0.06),
    Key(
        "police",
        "MISSING_PERSON",
        (),
        "child_vulnerability",
        lam0=0.00015,
        lam1=0.03,
        needs="child",
        role="child",
    ),
    Key("police", "CONCERN_FOR_WELFARE", (), "mental_health", lam0=0.0005, lam1=0.045),
    # crises: hazard z * (b + a * V)
    _h("EMERGENCY_ADMISSION", "category", "RESPIRATORY", "copd", b0=0.0001, a=0.016),
    _h(
        "EMERGENCY_ADMISSION",
        "category",
        "FALL",
        "frailty",
        b0=0.00005,
        b_old=0.0004,
        a=0.022,
        role="oldest",
    ),
    _h(
        "EMERGENCY_ADMISSION",
        "category",
        "MENTAL_HEALTH",
        "mental_health",
        b0=0.0001,
        a=0.005,
    ),
    _h(
        "EMERGENCY_ADMISSION",
        "category",
        "SUBSTANCE",
        "substance_misuse",
        b0=0.00005,
        a=0.013,
    ),
    _h("EMERGENCY_ADMISSION", "category", "OTHER", None, b0=0.0003, b_old=0.0003),
    Key(
        "fire",
        "DWELLING_FIRE",
        (("cause", "SMOKING_MATERIALS"),),
        "smoking",
        b0=0.00002,
        a=0.0008,
    ),
    Key(
        "fire",
        "DWELLING_FIRE",
        (("cause", "CLUTTER"),),
        "hoarding",
        b0=0.00001,
        a=0.004,
    ),
    Key("fire", "DWELLING_FIRE", (("cause", "COOKING"),), None, b0=0.00008),
    Key("fire", "DWELLING_FIRE", (("cause", "ELECTRICAL"),), None, b0=0.00004),
    Key("fire", "DWELLING_FIRE", (("cause", "OTHER"),), None, b0=0.00003),
    Key(
        "police",
        "DOMESTIC_ABUSE",
        (("risk_level", "HIGH"),),
        "domestic_abuse",
        b0=0.00003,
        a=0.016,
    ),
    _sc(
        "CHILDREN",
        "CP_PLAN",
        "child_vulnerability",
        b0=0.0001,
        a=0.012,
        needs="child",
        role="child",
    ),
    _sc(
        "CHILDREN",
        "LOOKED_AFTER",
        "child_vulnerability",
        b0=0.00003,
        a=0.005,
        needs="child",
        role="child",
    ),
)
# A crisis key's rate is a hazard (b0, b_old, a), any other's a rate (lam0, lam1): a key whose
# parameters disagree with the contracts' crisis definition is refused, not simulated wrongly.
for _k in KEYS:
    if _k.crisis != (_k.b0 > 0 or _k.b_old > 0 or _k.a > 0):
        raise ValueError(
            f"hearth/synth/params.py: records {_k.code} are "
            f"{'' if _k.crisis else 'not '}a crisis by the contracts (crisisEvents), but their "
            f"rate is given as {'a rate (lam0, lam1)' if _k.crisis else 'a crisis hazard'}."
        )
N_KEYS = len(KEYS)
KEY_VULN = np.array([-1 if k.vuln is None else VULN_INDEX[k.vuln] for k in KEYS], dtype=np.int64)
KEY_CRISIS = np.array([k.crisis for k in KEYS])
KEY_SOURCE = tuple(k.source for k in KEYS)

# --- mess ------------------------------------------------------------------------------------
SOCIAL_CARE_HOUSEHOLD_SHARE = 0.4  # social care rows carry household_pid this often, as in life
RECORD_ID_PREFIX = {"social_care": "SC", "health": "HL", "fire": "FR", "police": "PL"}
RECORD_ID_DIGITS = 9  # never 10, so a record id cannot look like an NHS number

# Household blocks: each block has its own random streams, so output does not depend on how many
# blocks are processed together and memory stays flat.
BLOCK = 32768


# --- a world that does not flatter the model (issue 27): its switches live in world_params.py
from hearth.synth.world_params import (  # noqa: E402
    MECHANISMS,
    REALISTIC,
    SEASON_PEAK_MONTH,
    WorldParams,
    world_params,
)

__all__ = ["MECHANISMS", "REALISTIC", "SEASON_PEAK_MONTH", "WorldParams", "world_params"]
