"""Where Hearth keeps things at run time. Read when called, never at import."""

from __future__ import annotations

import getpass
import os
import re
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import tomlkit


def hearth_home() -> Path:
    """`HEARTH_HOME`, default `./.hearth`, made absolute so child processes agree."""
    return Path(os.environ.get("HEARTH_HOME", ".hearth")).expanduser().resolve()


def today() -> date:
    """The run's clock (UTC). HEARTH_CLOCK (YYYY-MM-DD) sets it, to replay a past day or test
    a future one; an extract month after it is refused."""
    value = os.environ.get("HEARTH_CLOCK")
    if value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"HEARTH_CLOCK must be a date as YYYY-MM-DD, not {value!r}.") from None
    return datetime.now(UTC).date()


RETENTION_ENV = "HEARTH_RETENTION_MONTHS"


def retention_override_months() -> int | None:
    """HEARTH_RETENTION_MONTHS: for test and synthetic worlds only, a retention in months that
    replaces every contract's when it is shorter (it can never keep a record longer than its
    contract says). Unset in production: the contracts' `slaProperties: retention` rule."""
    value = os.environ.get(RETENTION_ENV)
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{RETENTION_ENV} must be a whole number of months, not {value!r}.")
    return int(value)


def landing_dir() -> Path:
    return Path(os.environ.get("HEARTH_LANDING", hearth_home() / "landing")).resolve()


def warehouse_path() -> Path:
    return Path(os.environ.get("HEARTH_WAREHOUSE", hearth_home() / "warehouse.duckdb")).resolve()


# A partnership of authorities (issue 28): each authority is a whole Hearth home of its own
# under HEARTH_HOME/authorities/<code>/ (its landing, its warehouse.duckdb, outputs, run lock and
# Dagster instance), so two authorities' steps never share a DuckDB file and one's failure or
# commit never touches another's. The code is an ONS local authority code, checked before it
# names a folder.
AUTHORITY_CODE = re.compile(r"[EWSN][0-9]{8}")


def authorities_dir() -> Path:
    return hearth_home() / "authorities"


def authority_home(code: str) -> Path:
    """One authority's Hearth home, HEARTH_HOME/authorities/<code>."""
    if not isinstance(code, str) or not AUTHORITY_CODE.fullmatch(code):
        raise ValueError(
            "An authority is named by its ONS code: a letter E, W, S or N and 8 digits."
        )
    return authorities_dir() / code


def partnership_dir() -> Path:
    """The partnership's own records (routing, its run summary): HEARTH_HOME/partnership."""
    return hearth_home() / "partnership"


def partnership_model_uri() -> str | None:
    """The MLflow store of the partnership model this home scores with, when it is one
    authority of a partnership (`hearth partnership run` sets HEARTH_PARTNERSHIP_MODEL for each
    authority's run): its `champion_model` step then trains nothing, and the scores, the list's
    model card and the baseline check read the partnership's @champion. None: this home trains
    its own."""
    return os.environ.get("HEARTH_PARTNERSHIP_MODEL") or None


def duckdb_memory_limit() -> str:
    """DuckDB's memory budget per connection (HEARTH_DUCKDB_MEMORY, default 4GB): it spills
    to disk beyond it rather than take the machine."""
    return os.environ.get("HEARTH_DUCKDB_MEMORY", "4GB")


def routing_duckdb_memory_limit() -> str:
    """DuckDB's memory budget while a partnership's routing writes the authorities' extracts
    (HEARTH_ROUTING_DUCKDB_MEMORY, default 2GB): the process then also holds each extract's
    frames, so its DuckDB is held below the warehouse's 4GB for the process to stay under 8 GB
    at 1,000,000 households (docs/performance.md). Its ingest and linkage of the whole landing
    run under HEARTH_DUCKDB_MEMORY: the token linkage's gathering needs more than 2 GB at a
    million households and does not spill. Beyond it DuckDB spills to the routing's folder."""
    return os.environ.get("HEARTH_ROUTING_DUCKDB_MEMORY", "2GB")


def outputs_dir() -> Path:
    return Path(os.environ.get("HEARTH_OUTPUTS", hearth_home() / "outputs")).resolve()


def mlflow_tracking_uri() -> str:
    """SQLite under HEARTH_HOME unless MLFLOW_TRACKING_URI points at a shared server."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    return uri or f"sqlite:///{hearth_home() / 'mlflow.db'}"


def mlflow_artifact_root() -> Path:
    return hearth_home() / "mlartifacts"


def os_user() -> str:
    """Who is at the keyboard (the login name), for the records that say who did what."""

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        return f"uid {os.getuid()}"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME", hearth_home() / "dagster")).resolve()


def landing_settle_seconds() -> float:
    """How long a landed file must be left unchanged before the landing sensor reads it
    (HEARTH_LANDING_SETTLE_SECONDS, default 60): a file still being copied in waits a tick."""
    return float(os.environ.get("HEARTH_LANDING_SETTLE_SECONDS", "60"))


# Nothing leaves the machine: the switches Dagster and MLflow read to send no usage data. They
# are set (over any other value) by every `hearth` command and whenever the Dagster definitions
# load, so they reach `dagster dev`, its daemon, the MLflow UI and every run's process. Dagster's
# own switch is `telemetry: enabled: false` in dagster.yaml (the copy in DAGSTER_HOME); `dg`
# reads `[tool.dg.cli.telemetry] enabled = false` in pyproject.toml.
TELEMETRY_OFF = {
    "DAGSTER_DISABLE_TELEMETRY": "true",  # Dagster: never upload its usage logs
    "MLFLOW_DISABLE_TELEMETRY": "true",  # MLflow 3: no usage events, from clients or its UI
    "DO_NOT_TRACK": "true",  # the common switch (MLflow honours it; it must read "true")
}


def telemetry_off() -> None:
    """Switch off Dagster's and MLflow's usage telemetry for this process and its children."""
    os.environ.update(TELEMETRY_OFF)


def dg_user_config() -> Path:
    """Where `dg` reads its user settings: DG_CLI_CONFIG, else XDG_CONFIG_HOME (~/.config)/dg.toml
    (dagster_shared.utils.config.get_dg_config_path, which a test compares with this)."""
    named = os.environ.get("DG_CLI_CONFIG")
    if named:
        return Path(named).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(config_home) / "dg.toml"


def dg_telemetry_off() -> Path | None:
    """`dg` decides on telemetry from its user settings file and from $DAGSTER_HOME/dagster.yaml
    only: it ignores the project's pyproject.toml `[tool.dg.cli]` and ./.env, so `dg check defs`
    from the checkout queued usage events in ~/.dagster/logs. Put `[cli.telemetry] enabled =
    false` in that file (kept as it is otherwise; a setting already there is the user's). Called
    by `make install` and every `hearth` command; returns the file, or None if it cannot be
    written (a read-only home: the README says how to set it by hand)."""

    path = dg_user_config()
    try:
        doc = (
            tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
        )
        cli = doc.setdefault("cli", tomlkit.table())
        telemetry = cli.setdefault("telemetry", tomlkit.table())
        if "enabled" in telemetry:
            return path
        telemetry["enabled"] = False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    except (OSError, tomlkit.exceptions.ParseError):
        return None
    return path


def landing_sensor_state() -> Path:
    """Where the landing sensor keeps what it has seen of each file (HEARTH_HOME/landing_sensor);
    its Dagster cursor is one line naming the state there."""
    return hearth_home() / "landing_sensor"


ALERT_WEBHOOK_ENV = "HEARTH_ALERT_WEBHOOK"
ROLES_FILE_ENV = "HEARTH_ROLES_FILE"


def alert_webhook() -> str | None:
    """Where a stopped run's alert is POSTed (HEARTH_ALERT_WEBHOOK), if anywhere."""
    return os.environ.get(ALERT_WEBHOOK_ENV) or None


def roles_file() -> tuple[Path, bool]:
    """The roles file, and whether HEARTH_ROLES_FILE named it (default HEARTH_HOME/roles.yaml)."""
    named = os.environ.get(ROLES_FILE_ENV)
    if named:
        return Path(named).expanduser(), True
    return hearth_home() / "roles.yaml", False


# The files the code reads at run time, besides the Python: `sql/`, `data_contracts/`,
# `expectations/`, `deploy/`, `dagster.yaml` and `pyproject.toml` (Dagster's project settings).
# In a checkout they are its top-level folders; the wheel carries the same files inside the
# package, at `hearth/_project/` (pyproject.toml's wheel force-include, added by hatch_build.py
# to built wheels only: an editable install reads the checkout).
PROJECT_FILES = (
    "sql",
    "data_contracts",
    "expectations",
    "deploy",
    "dagster.yaml",
    "pyproject.toml",
)
PACKAGED_PROJECT = "_project"
# Dagster's name for Hearth's code location: pyproject.toml's [tool.dg.project] and
# [tool.dagster] say the same, and `hearth ui` registers the location under it (-l), so the
# name the UI, the daemon and the project give agree wherever the checkout or install lives.
CODE_LOCATION = "hearth"
DEFINITIONS_MODULE = "hearth.definitions"
# The run's commit record beside the warehouse: written by the commit (hearth/operations/commit.py),
# read by publish to find the last good list while a committed run is being put in place.
COMMIT_RECORD = ".run-commit.json"


def project_root() -> Path:
    """The folder holding PROJECT_FILES: inside the installed package if the wheel put them
    there, else the checkout's top folder (the one above `hearth/`)."""
    packaged = Path(str(resources.files("hearth"))) / PACKAGED_PROJECT
    if (packaged / "pyproject.toml").is_file():
        return packaged.resolve()
    return Path(__file__).resolve().parents[1]


def project_path(name: str) -> Path:
    """One of PROJECT_FILES (or a path under one), wherever Hearth is installed; a sentence
    naming what is missing if the installation lacks it."""
    if name.split("/")[0] not in PROJECT_FILES:
        raise ValueError(
            f"{name} is not one of the files Hearth ships ({', '.join(PROJECT_FILES)})."
        )
    path = project_root() / name
    if not path.exists():
        raise FileNotFoundError(
            f"Hearth's {name} is not in {path.parent}: the installation is incomplete; "
            "install Hearth again from its wheel or run it from a checkout."
        )
    return path


PROJECT_ROOT = project_root()
SQL_DIR = PROJECT_ROOT / "sql"
CONTRACTS_DIR = PROJECT_ROOT / "data_contracts"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
