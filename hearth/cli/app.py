"""The `hearth` command. Errors are sentences, not tracebacks; long work shows progress.

Every command is a plain function in its module (`hearth/cli/<module>.py`), registered here
and only here, the same way: a name, the function, and a one-line help where the listing should
not use the function's docstring. Commands print through hearth/cli/console.py."""

from __future__ import annotations

from collections.abc import Callable

import typer

from hearth import settings
from hearth.cli import models, partnership, quarantine
from hearth.cli.deliver import audit_command, plan_command, publish_command, reidentify_command
from hearth.cli.dpia import dpia_command
from hearth.cli.link_review import reidentify_links_command
from hearth.cli.pseudonymise import pseudonymise_command
from hearth.cli.runs import demo, run, synth
from hearth.cli.ui import ui_command
from hearth.cli.worker import worker_command_cli
from hearth.privacy.access import ensure_private_home, private_process

# (name, function, help: None for the function's docstring)
Commands = tuple[tuple[str, Callable, str | None], ...]

COMMANDS: Commands = (
    (
        "pseudonymise",
        pseudonymise_command,
        "Pseudonymise identifier columns before an extract leaves an agency.",
    ),
    ("publish", publish_command, "Write each role's view of a published list (roles/<role>/)."),
    ("plan", plan_command, "Split the top of the list into each team's visit plan."),
    (
        "reidentify",
        reidentify_command,
        "At an agency: find the ranked households you already know (audited).",
    ),
    (
        "reidentify-links",
        reidentify_links_command,
        "At an agency: review a ranked household's uncertain links (audited).",
    ),
    ("audit", audit_command, "List the audit log of re-identifications."),
    ("dpia", dpia_command, "Write the data protection officer's evidence pack."),
    ("ui", ui_command, "Start the Dagster UI and the MLflow UI on 127.0.0.1; Ctrl-C stops both."),
    ("synth", synth, None),
    ("run", run, None),
    ("demo", demo, None),
    ("worker", worker_command_cli, None),
)

# (name, help, commands): `hearth <name> <command>`
GROUPS: tuple[tuple[str, str, Commands], ...] = (
    (
        "models",
        "Compare model versions in the MLflow registry and promote a champion.",
        (
            ("list", models.list_versions, None),
            ("compare", models.compare, None),
            ("promote", models.promote, None),
            ("unpin", models.unpin, None),
            ("rules", models.rules, None),
        ),
    ),
    (
        "partnership",
        "A partnership of authorities: route its landing, run each authority in its own home.",
        (
            ("route", partnership.route_command, None),
            ("run", partnership.run_command, None),
        ),
    ),
    (
        "quarantine",
        "List and show the rows the quality gate quarantined.",
        (
            ("list", quarantine.list_quarantine, None),
            ("show", quarantine.show_quarantine, None),
        ),
    ),
)


def _typer(help: str) -> typer.Typer:
    return typer.Typer(
        help=help, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
    )


def _register(target: typer.Typer, commands: Commands) -> None:
    for name, function, help in commands:
        target.command(name, help=help)(function)


app = _typer("Hearth: checked, linked, pseudonymised extracts to a ranked list of households.")


@app.callback()
def _private(ctx: typer.Context) -> None:
    """Whatever Hearth writes is its owner's only (umask 077), and a HEARTH_HOME that others
    could read is tightened before anything is done with it (hearth/privacy/access.py). No
    usage telemetry leaves the machine (hearth/settings.py: TELEMETRY_OFF)."""

    settings.telemetry_off()  # before Dagster or MLflow is imported or started
    settings.dg_telemetry_off()  # and for `dg`, which reads only its user settings file
    private_process()
    if ctx.invoked_subcommand not in ("pseudonymise", "synth"):  # these run at an agency
        ensure_private_home(create=False)


_register(app, COMMANDS)
for _name, _help, _commands in GROUPS:
    _group = _typer(_help)
    _register(_group, _commands)
    app.add_typer(_group, name=_name)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
