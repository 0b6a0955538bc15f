"""The `hearth` command's consoles and its one way of stopping with a sentence.

Every command prints through `console` (standard output) and `err` (standard error), and stops
on a request it cannot meet with `fail(sentence, code)`: one line `Error: <sentence>`, never a
traceback. `wide` is the same console made wide enough for the metrics tables of
`hearth models` when the output goes to a file or a pipe."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err = Console(stderr=True)
wide = Console(width=None if sys.stdout.isatty() else 160)


def fail(sentence: str, code: int = 2, *, label: str = "Error:") -> NoReturn:
    """Print the sentence on standard error, after `label` (none with label=""), and exit with
    `code`. The sentence is text, not markup: a "[...]" in a path or name is printed as it is,
    and it is not cut into lines (a sentence stays one line in a log)."""
    head = f"[bold red]{escape(label)}[/] " if label else ""
    err.print(head + escape(sentence), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def say(message: str) -> None:
    """A line of progress from the library (a run lock waiting, a re-identification step)."""
    console.print(message, highlight=False)
