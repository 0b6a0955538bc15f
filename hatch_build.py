"""Hatch build hook: put the files Hearth reads at run time besides its Python (`sql/`,
`data_contracts/`, ... as listed under [tool.hatch.build.targets.wheel.hooks.custom.force-include]
in pyproject.toml) inside a built wheel, at `hearth/_project/`. Not in an editable install: there
the checkout is on the path and read directly (hearth/settings.py: project_root), and a copy in
site-packages would only go stale."""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ProjectFilesHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        build_data["force_include"].update(self.config.get("force-include", {}))
