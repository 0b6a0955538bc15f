"""The UIs answer only their own names: a `Host` allowlist in front of the Dagster webserver.

A page on any web site can make the browser of whoever has `hearth ui` open send requests to
127.0.0.1 under the site's own name (DNS rebinding) and read the answers: run configs, file
names, row counts. A server that answers only requests addressed to its own names (127.0.0.1,
localhost, [::1] and the names in HEARTH_UI_HOSTS, e.g. the reverse proxy's
`hearth.council.internal`) gives such a page nothing. MLflow's server does this itself
(`--allowed-hosts`, given the same names by `hearth ui`); dagster-webserver has no such option
(1.13: `dagster-webserver --help`), so `hearth ui` starts it through this module: the
webserver's own command and options, with the app it serves wrapped in `HostAllowlist`.

    python -m hearth.cli.ui_hosts -w workspace.yaml -h 127.0.0.1 -p 3000 --read-only
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
ALLOWED_ENV = "HEARTH_UI_HOSTS"  # further names both UIs answer to, comma-separated

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]

REFUSAL = (
    b"403 Forbidden: this Hearth UI answers only requests addressed to its own names "
    b"(127.0.0.1, localhost or a name in HEARTH_UI_HOSTS).\n"
)


def allowed_names(extra: str | None = None) -> tuple[str, ...]:
    """The loopback names and those in HEARTH_UI_HOSTS (or `extra`), lower case, no port."""
    text = os.environ.get(ALLOWED_ENV, "") if extra is None else extra
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    return tuple(dict.fromkeys([*LOOPBACK, *names]))


def host_name(header: str) -> str:
    """A Host header's name without its port: `127.0.0.1:3000` -> `127.0.0.1`,
    `[::1]:3000` -> `[::1]`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[: header.find("]") + 1] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def mlflow_allowed_hosts(names: Iterable[str]) -> str:
    """The same names for `mlflow server --allowed-hosts` (it matches the whole header)."""
    return ",".join(p for n in names for p in (n, f"{n}:*"))


class HostAllowlist:
    """ASGI middleware: a request (HTTP or WebSocket) whose Host is not one of `names` gets
    403 and never reaches the app."""

    def __init__(self, app: ASGIApp, names: Iterable[str]) -> None:
        self.app = app
        self.names = frozenset(n.lower() for n in names)

    def allows(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"host")
        if raw is None:
            return False  # HTTP/1.1 requires it; a request without one is not ours to answer
        return host_name(raw.decode("latin-1")) in self.names

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket") or self.allows(scope):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: HTTP 403
            return
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(REFUSAL)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": REFUSAL})


def main() -> None:
    """dagster-webserver's command, serving its app behind `HostAllowlist`."""
    import dagster_webserver.cli as webserver_cli

    make_app = webserver_cli.create_app_from_workspace_process_context
    names = allowed_names()

    def guarded(*args: Any, **kwargs: Any) -> HostAllowlist:
        return HostAllowlist(make_app(*args, **kwargs), names)

    # the command calls this name from its own module to build the app it hands uvicorn; a
    # Dagster upgrade that renames it fails tests/live/test_ui_hosts_live.py, not silently
    webserver_cli.create_app_from_workspace_process_context = guarded
    webserver_cli.main()


if __name__ == "__main__":
    main()
