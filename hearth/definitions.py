"""Hearth's Dagster definitions: everything under `hearth/defs/`, one folder per stage.

Dagster reads the project's settings ([tool.dg.project] in pyproject.toml: the defs module and
the code location's name) from the checkout, or from the copy the wheel carries when Hearth is
installed (hearth/settings.py: project_path)."""

import dagster as dg

from hearth import settings


@dg.definitions
def defs() -> dg.Definitions:
    """Loading them (`dagster dev`, `dg`, a code server) switches usage telemetry off for the
    process and the runs it starts (hearth/settings.py: TELEMETRY_OFF)."""
    settings.telemetry_off()
    return dg.load_from_defs_folder(
        path_within_project=settings.project_path("pyproject.toml").parent
    )
