"""The UIs answer only their own names (hearth/cli/ui_hosts.py): the Host allowlist in front of
the Dagster webserver, on its own (the real servers: tests/live/test_ui_hosts_live.py)."""

from __future__ import annotations

import asyncio

import pytest

from hearth.cli.ui_hosts import (
    HostAllowlist,
    allowed_names,
    host_name,
    mlflow_allowed_hosts,
)
from hearth.cli.ui_mlflow import SCRIPT, UI_SETTINGS, quiet_page


async def _app(scope, receive, send):  # what the webserver would answer
    if scope["type"] == "websocket":
        await send({"type": "websocket.accept"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"run configs, file names, row counts"})


def _call(host: str | None, kind: str = "http", names=None) -> list[dict]:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    headers = [(b"host", host.encode())] if host is not None else []
    app = HostAllowlist(_app, names or allowed_names(""))
    asyncio.run(app({"type": kind, "headers": headers, "path": "/graphql"}, receive, send))
    return sent


@pytest.mark.parametrize(
    "host", ["127.0.0.1:3000", "localhost:3000", "LOCALHOST", "[::1]:3000", "127.0.0.1"]
)
def test_its_own_names_are_answered(host):
    sent = _call(host)
    assert sent[0]["status"] == 200 and b"run configs" in sent[1]["body"]


@pytest.mark.parametrize(
    "host",
    [
        "rebind.attacker.example:3000",  # DNS rebinding: the page's own name
        "127.0.0.1.attacker.example",
        "localhost.attacker.example:3000",
        "127.0.0.2:3000",
        "",
        None,  # no Host at all
    ],
)
def test_any_other_name_gets_403_and_nothing_else(host):
    sent = _call(host)
    assert sent[0]["status"] == 403
    assert b"run configs" not in b"".join(m.get("body", b"") for m in sent)


def test_a_websocket_to_another_name_is_closed_before_it_opens():
    assert _call("rebind.attacker.example", "websocket") == [
        {"type": "websocket.close", "code": 1008}
    ]
    assert _call("127.0.0.1:3000", "websocket") == [{"type": "websocket.accept"}]


def test_the_configured_name_is_answered(monkeypatch):
    monkeypatch.setenv("HEARTH_UI_HOSTS", " hearth.council.internal , other.example ")
    names = allowed_names()
    assert names == (
        "127.0.0.1",
        "localhost",
        "[::1]",
        "hearth.council.internal",
        "other.example",
    )
    assert _call("hearth.council.internal", names=names)[0]["status"] == 200
    assert _call("hearth.council.internal.evil", names=names)[0]["status"] == 403
    assert mlflow_allowed_hosts(["localhost"]) == "localhost,localhost:*"


def test_host_names_lose_their_port_only():
    assert host_name("127.0.0.1:3000") == "127.0.0.1"
    assert host_name("[::1]:3000") == "[::1]"
    assert host_name("Example.COM") == "example.com"


def test_the_mlflow_page_dismisses_the_banner_before_mlflow_reads_it():
    page = quiet_page("<!doctype html><html><head><title>MLflow</title></head></html>")
    assert page.index(SCRIPT) < page.index("<title>")
    assert quiet_page(page) == page  # once only


def test_the_keys_are_those_the_installed_mlflow_ui_reads():
    """MLflow's bundle keeps its localStorage keys as `<key>_v<version>`: if an upgrade renames
    them, the banner would show again."""
    from pathlib import Path

    import mlflow

    bundle = Path(mlflow.__file__).parent / "server" / "js" / "build" / "static" / "js"
    text = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in bundle.glob("*.js"))
    assert "MLflow collects usage data" in text  # the banner still exists in this MLflow
    for key in UI_SETTINGS:
        name, version = key.rsplit("_v", 1)
        assert f'"{name}"' in text, name
    assert "`${e}_v${t}`" in text  # how the UI builds the versioned key
