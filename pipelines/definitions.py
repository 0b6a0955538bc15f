"""Hearth's Dagster definitions: everything under `pipelines/defs/`, one folder per stage.

Dagster reads the project's settings ([tool.dg.project] in pyproject.toml: the defs module and
the code location's name) from the checkout, or from the copy the wheel carries when Hearth is
installed (hearth/settings.py: project_path)."""

import dagster as dg

from hearth.settings import project_path


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=project_path("pyproject.toml").parent)
