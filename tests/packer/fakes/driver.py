"""Calls run_packer in its own process, so tests can send that process SIGINT/SIGTERM like a user would.

Usage: driver.py PACKER TEMPLATE WORK_DIR GRACE_PERIOD. Prints ``LINE <text>`` for every readable line and
finally ``RESULT <json>``.
"""

import json
import signal
import sys
from pathlib import Path

from aibpack.packer.runner import build_args, run_packer


def main() -> None:
    packer, template, work_dir, grace = sys.argv[1:5]
    # As an interactive aibpack has it, even when the test run itself ignores SIGINT (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    result = run_packer(
        build_args(template, on_error="cleanup"),
        packer=Path(packer),
        cwd=Path(work_dir),
        log_path=Path(work_dir) / "packer.log",
        timeout=None,
        on_line=lambda text: print("LINE " + text, flush=True),
        grace_period=float(grace),
    )
    fields = ("exit_code", "interrupted_by", "timed_out", "pgid", "duration", "errors")
    print("RESULT " + json.dumps({name: getattr(result, name) for name in fields}), flush=True)


if __name__ == "__main__":
    main()
