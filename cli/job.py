"""A job's process: `python -m cli.job RUN_ID --cache-dir DIR ...`, started by training.jobs.

training.job_process waits for a slot and trains; this entry point, in the command line's
layer, gives it the lessons' post-processing to run on the finished run in the same
process: torch is loaded already, and the slot is given back without a second interpreter
loading it again.
"""
from __future__ import annotations

import sys
from pathlib import Path

from training import job_process


def postprocess(folder: Path) -> None:
    from cli.jobs import postprocess_finished   # the lessons (torch, pandas) only once trained

    postprocess_finished(folder)


if __name__ == "__main__":
    sys.exit(job_process.main(postprocess=postprocess))
