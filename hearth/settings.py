"""Where Hearth keeps things at run time. Read when called, never at import."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path


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


def landing_dir() -> Path:
    return Path(os.environ.get("HEARTH_LANDING", hearth_home() / "landing")).resolve()


def warehouse_path() -> Path:
    return Path(os.environ.get("HEARTH_WAREHOUSE", hearth_home() / "warehouse.duckdb")).resolve()


def duckdb_memory_limit() -> str:
    """DuckDB's memory budget per connection (HEARTH_DUCKDB_MEMORY, default 4GB): it spills
    to disk beyond it rather than take the machine."""
    return os.environ.get("HEARTH_DUCKDB_MEMORY", "4GB")


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
    import getpass

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


PROJECT_ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = PROJECT_ROOT / "sql"
