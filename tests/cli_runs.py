"""`check` and `run` as a person starts them, for the tests that hold their messages equal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from integration.cli import cli

RUN_TIMEOUT_S = 60.0  # a refused `run` exits at once; this only bounds a hang


def check(path: Path) -> tuple[int, str]:
    """`smart-bedroom check --config path`: exit code and what it said on stderr."""
    result = CliRunner().invoke(cli, ["check", "--config", str(path)], catch_exceptions=False)
    return result.exit_code, result.stderr


def run(path: Path) -> tuple[int, str]:
    """`smart-bedroom run` as a person starts it, in its own process."""
    done = subprocess.run(
        [sys.executable, "-c", "from integration.cli import main; main()", "run", "--config", path],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    return done.returncode, done.stderr
