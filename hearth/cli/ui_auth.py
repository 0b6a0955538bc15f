"""Sign-in for the MLflow UI that `hearth ui` starts: MLflow's basic-auth app.

Without it, anyone who can reach the MLflow port can move `@champion` or delete a model
version. With it, every request needs a user name and password: `hearth-admin` may change
anything (and create other users, who may only read: `default_permission = READ`).

Everything lives in HEARTH_HOME/mlflow-auth/ (0700, its files 0600), made on first use:

- `basic_auth.ini`: MLflow's auth settings (the users' store is `basic_auth.db` beside it);
- `admin-password`: a random password for `hearth-admin`, given to MLflow once, when it makes
  the admin user; change it later in MLflow (the file is then only a record);
- `flask-secret`: the key MLflow signs its CSRF tokens with.

The password is never printed or logged: `hearth ui` says which file holds it."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hearth import settings

ADMIN = "hearth-admin"


@dataclass(frozen=True)
class MlflowAuth:
    folder: Path
    config: Path
    password_file: Path
    secret_file: Path

    def env(self) -> dict[str, str]:
        """What the MLflow server's process needs (its environment is readable by its owner
        only, as HEARTH_HOME is)."""
        return {
            "MLFLOW_AUTH_CONFIG_PATH": str(self.config),
            "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN,
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.password_file.read_text(encoding="utf-8").strip(),
            "MLFLOW_FLASK_SERVER_SECRET_KEY": self.secret_file.read_text(encoding="utf-8").strip(),
        }


def _private_file(path: Path, text: str) -> None:
    """Write `text` to a new file only its owner can read (never widened by the umask)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def ensure_mlflow_auth(home: Path | None = None) -> MlflowAuth:
    """HEARTH_HOME/mlflow-auth with its settings, the admin's password and the CSRF key; files
    already there are kept (and made private again if someone loosened them)."""
    folder = (home or settings.hearth_home()) / "mlflow-auth"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    auth = MlflowAuth(
        folder, folder / "basic_auth.ini", folder / "admin-password", folder / "flask-secret"
    )
    if not auth.password_file.exists():
        _private_file(auth.password_file, secrets.token_urlsafe(24) + "\n")
    if not auth.secret_file.exists():
        _private_file(auth.secret_file, secrets.token_hex(32) + "\n")
    ini = (
        "# Written by hearth ui: MLflow's basic-auth app (hearth/cli/ui_auth.py).\n"
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'basic_auth.db'}\n"
        f"admin_username = {ADMIN}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    if not auth.config.exists() or auth.config.read_text(encoding="utf-8") != ini:
        auth.config.unlink(missing_ok=True)
        _private_file(auth.config, ini)
    for p in (auth.config, auth.password_file, auth.secret_file):
        os.chmod(p, 0o600)
    return auth
