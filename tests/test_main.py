"""`python -m nasplug` is the `nasplug` command."""

import subprocess
import sys


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "nasplug", *args], capture_output=True, text=True, timeout=120
    )


def test_python_m_nasplug_runs_the_command_line_and_returns_its_status():
    shown = run("--help")
    assert shown.returncode == 0
    assert shown.stdout.startswith("usage: nasplug ")
    refused = run("annealing")
    assert refused.returncode == 2
    assert "invalid choice: 'annealing'" in refused.stderr
