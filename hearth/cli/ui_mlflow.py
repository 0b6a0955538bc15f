"""The MLflow UI `hearth ui` starts: MLflow's basic-auth app, whose page never shows MLflow's
usage-data banner and never turns UI telemetry on.

MLflow 3's UI shows "MLflow collects usage data to improve the product" on its home page until
the browser has dismissed it, whatever the server's switches say (MLFLOW_DISABLE_TELEMETRY only
stops the server collecting); the banner and the UI's own telemetry setting live in the
browser's localStorage. So the page the server sends sets both before MLflow's script reads
them. Registered as the MLflow app `hearth` (pyproject.toml, entry point group `mlflow.app`):
`mlflow server --app-name hearth`."""

from __future__ import annotations

from typing import Any

# The localStorage keys MLflow 3.17's UI reads (`<key>_v<version>`, JSON values), from its
# bundle; tests/unit/operations/test_telemetry.py checks the installed bundle still uses them.
UI_SETTINGS = {
    "mlflow.telemetry.info.alert.dismissed_v1": "true",  # the banner: already dismissed
    "mlflow.settings.telemetry.enabled_v1": "false",  # Settings > UI telemetry: off
}
SCRIPT = (
    "<script>try{"
    + "".join(f'localStorage.setItem("{k}","{v}");' for k, v in UI_SETTINGS.items())
    + "}catch(e){}</script>"
)


def quiet_page(html: str) -> str:
    """The UI's index page with the settings script first in its head."""
    return html.replace("<head>", "<head>" + SCRIPT, 1) if SCRIPT not in html else html


def create_app() -> Any:
    """MLflow's basic-auth app (mlflow.server.auth.create_app), its index page made quiet."""
    from flask import request
    from mlflow.server import app
    from mlflow.server.auth import create_app as basic_auth_app

    @app.after_request
    def _quiet(response):  # the index page only: the UI is one page
        page = request.path.rstrip("/").rsplit("/", 1)[-1] in ("", "index.html")
        if page and response.status_code == 200 and response.mimetype == "text/html":
            response.direct_passthrough = False
            response.set_data(quiet_page(response.get_data(as_text=True)))
        return response

    return basic_auth_app(app)
