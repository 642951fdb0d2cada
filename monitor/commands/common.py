"""Pieces shared by the commands: the ``-c/--config`` option and config loading."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

EX_CONFIG = 78  # sysexits.h: configuration error


def default_config_path() -> str:
    return os.environ.get("MONITOR_CONFIG", "config.yaml")


def config_option(func: F) -> F:
    """``-c/--config FILE`` (default ``$MONITOR_CONFIG`` or ``config.yaml``)."""
    option = click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=default_config_path,
        show_default="config.yaml",
        help="The config file.",
    )
    return option(func)


def die_config(error: Exception) -> None:
    """Print every config error to stderr and exit 78 (EX_CONFIG)."""
    click.echo(str(error), err=True)
    sys.exit(EX_CONFIG)
