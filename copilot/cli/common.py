"""Helpers shared by CLI modules: settings, error exit codes, consoles."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from rich.console import Console

from copilot.errors import CopilotError

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn a CopilotError into one clear line on stderr and its exit code; never a traceback."""
    try:
        yield
    except CopilotError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def run(fn: Callable[[], T]) -> T:
    with cli_errors():
        return fn()


def is_tty() -> bool:
    return sys.stdout.isatty()
