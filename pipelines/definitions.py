"""Hearth's Dagster definitions: everything under `pipelines/defs/`, one folder per stage."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(project_root=Path(__file__).resolve().parent.parent)
