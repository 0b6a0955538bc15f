"""Hearth's Dagster definitions: everything under `pipelines/defs/`, one folder per stage."""

from pathlib import Path

import dagster as dg

from hearth import settings


@dg.definitions
def defs() -> dg.Definitions:
    """Loading them (`dagster dev`, `dg`, a code server) switches usage telemetry off for the
    process and the runs it starts (hearth/settings.py: TELEMETRY_OFF)."""
    settings.telemetry_off()
    return dg.load_from_defs_folder(project_root=Path(__file__).resolve().parent.parent)
