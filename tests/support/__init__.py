"""Helpers the tests share: `synthetic` (strategies driven with no training), `tables` (a
customer table of the kind people have), `holding` (a script that holds one trial so that a
Ctrl-C strikes mid-trial), `supernets` (tiny spaces and a toy task for weight sharing), and
where the repository and the shared benchmark data are.

Imported as `from tests.support import synthetic`: `tests/` is a package, so pytest puts the
repository's root on `sys.path` whichever way it is started.
"""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOLDING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "holding.py")


def shared_data(*parts):
    """The path of `parts` under `shared/benchmarks`, or None where it is absent.

    The shared data sit beside the repository, or beside the directory of its worktrees.
    """
    for up in (1, 2):
        path = os.path.join(REPO, *[".."] * up, "shared", "benchmarks", *parts)
        if os.path.exists(path):
            return os.path.normpath(path)
    return None


def settle_environment():
    """Quiets TensorFlow and sizes its thread pools to the test run, before it is imported.

    Each xdist worker is one process training its own tiny networks, and TensorFlow sizes
    both of its op pools (within an op, between ops) and OpenMP's to every core. With
    `-n 2` on two cores that is four busy pools for two cores, and the workers slow each
    other down. In a worker each pool gets the cores divided by the workers (one thread
    on two cores with `-n 2`); a run without workers keeps TensorFlow's default. Child
    processes (the command line, distributed workers) inherit the settings; a value
    already in the environment is left as it is.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # xdist sets this in its workers only: the process that starts them trains nothing.
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers is None:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = str(max(1, (cores or 1) // max(1, int(workers))))
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, threads)


def slow_except(values, fast, name=str):
    """Values for `pytest.mark.parametrize`, each marked slow unless its name is in `fast`.

    For a test whose cases all check one rule: a few cases keep the rule in the fast tier,
    the rest run with the slow tests.
    """
    import pytest

    return [v if name(v) in fast else pytest.param(v, marks=pytest.mark.slow) for v in values]
