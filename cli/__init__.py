"""The lab's command line (`python -m training ...`): see cli/commands.py.

This file stays light on purpose: a job's process (`python -m cli.job`) imports the package
while it waits for a slot, and the commands' modules load torch and pandas.
"""
from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from cli.commands import main as run_command   # the commands' imports only when a command runs

    return run_command(argv)
