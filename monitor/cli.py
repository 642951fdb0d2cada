"""The ``monitor`` command line (click)."""

from __future__ import annotations

import click

from monitor import __version__


@click.group()
@click.version_option(__version__, prog_name="monitor")
def main() -> None:
    """News monitoring and alerting: feeds in, cleaned articles matched, digests out."""
