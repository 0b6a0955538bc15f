"""Small valid interventions extracts for tests (the synthetic world's closed loop writes its own:
hearth/synth, issue 26 item 2). One row per offer, in the contract's columns and codes."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from hearth.months import month_end, month_start
from hearth.sources import SOURCES, landing_file_name

OFFER_TYPES = ("WELLBEING_VISIT", "FIRE_SAFETY_VISIT", "FALLS_REVIEW", "EARLY_HELP", "OTHER")
RESPONSES = ("ACCEPTED", "DECLINED", "NO_CONTACT")


def offers(
    month: str,
    household_pids: list[str],
    *,
    n: int = 40,
    seed: int = 0,
    first_id: int = 1,
    generation: str = "v1",
) -> pl.DataFrame:
    """`n` valid offers made in `month` to households drawn from `household_pids`, all text."""
    rng = random.Random(f"{seed}:{month}")
    start, end = month_start(month), month_end(month)
    agencies = SOURCES["interventions"].codes["agency"]
    rows = []
    for i in range(n):
        offered = start + timedelta(days=rng.randrange((end - start).days + 1))
        from_list = rng.random() < 0.7
        response = rng.choice(RESPONSES)
        done: date | None = None
        if response == "ACCEPTED" and rng.random() < 0.8:
            done = min(end, offered + timedelta(days=rng.randrange(0, 10)))
        rows.append(
            {
                "record_id": f"IV{first_id + i:08d}",
                "household_pid": rng.choice(household_pids),
                "offer_date": offered.isoformat(),
                "agency": rng.choice(agencies),
                "team": rng.choice(("EARLY_HELP_NORTH", "PREVENTION_2", None)),
                "offer_type": rng.choice(OFFER_TYPES),
                "from_list": "Y" if from_list else "N",
                "list_generation": generation if from_list else None,
                "list_rank": str(rng.randrange(1, 200)) if from_list else None,
                "response": response,
                "completed_date": done.isoformat() if done else None,
            }
        )
    return pl.DataFrame(rows, schema={c: pl.String for c in SOURCES["interventions"].columns})


def write_interventions(
    landing: Path, months: tuple[str, ...] | list[str], household_pids: list[str], **kw
) -> list[Path]:
    """One valid interventions extract per month in `landing/interventions/<month>/`."""
    paths = []
    for i, month in enumerate(months):
        path = landing / "interventions" / month / landing_file_name("interventions", month)
        path.parent.mkdir(parents=True, exist_ok=True)
        offers(month, household_pids, first_id=1 + i * 100_000, **kw).write_csv(path)
        paths.append(path)
    return paths


def world_households(landing: Path, month: str) -> list[str]:
    """The household pseudonyms of a synthetic world's address register baseline."""
    path = landing / "addresses" / month / landing_file_name("addresses", month)
    read = pl.read_parquet if path.suffix == ".parquet" else pl.read_csv
    return sorted(read(path)["household_pid"].cast(pl.String).to_list())
