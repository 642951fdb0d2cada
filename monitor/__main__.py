"""``python -m monitor`` and the ``monitor`` console script.

The console script imports :func:`main` from here rather than from :mod:`monitor.cli`:
multiprocessing re-runs the parent's main script in every new worker process, and this
module imports the command line (and with it the whole daemon) only when called, so a
worker never does.
"""


def main() -> None:
    """Run the ``monitor`` command line."""
    from monitor.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
