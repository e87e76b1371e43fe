"""What every benchmark script shares: where the data is, one loader, and the stamp on results.

Data: every script takes `--data DIR`, the folder that holds `ucr/` (the UCR / UEA sets as
`<name>.npz`) and `nasbench201/` (`cifar10.csv.gz`). It defaults to `shared/benchmarks`
beside the checkout (`../shared/benchmarks` from the repository root; for git worktrees
side by side, `../../shared/benchmarks`), wherever the checkout is.

Stamp: every result a script writes says where it came from: the commit (and whether the
tree had uncommitted changes), the versions of Python and the packages that shape a
result, the machine (platform, CPUs, GPUs TensorFlow sees when it is loaded), the command
line and the UTC time. Text results start with it as `#` lines (`header()`); JSON results
carry it under `"stamp"` (`stamped()`).

A script in `benchmarks/perf/` or `benchmarks/studies/<name>/` imports this module with

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[N]))  # the checkout
    from benchmarks import common
"""

import datetime
import os
import pathlib
import platform
import shlex
import subprocess
import sys
from importlib import metadata

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The shared data beside the checkout (<folder holding the checkout>/shared/benchmarks), or
# beside the folder above it, where git worktrees of one clone sit side by side.
DEFAULT_DATA = next(
    (
        folder / "shared" / "benchmarks"
        for folder in (ROOT.parent, ROOT.parent.parent)
        if (folder / "shared" / "benchmarks").is_dir()
    ),
    ROOT.parent / "shared" / "benchmarks",
)
UCR_SETS = ("gunpoint", "arrowhead", "italypowerdemand", "coffee", "japanesevowels")
PACKAGES = (
    "nasplug",
    "keras",
    "keras-tuner",
    "autokeras",
    "tensorflow",
    "tensorflow-cpu",
    "jax",
    "numpy",
    "scikit-learn",
    "optuna",
)


def add_data_argument(parser):
    """Adds `--data DIR` (the shared benchmark data) to an `argparse` parser."""
    parser.add_argument(
        "--data",
        type=pathlib.Path,
        default=DEFAULT_DATA,
        help="folder holding ucr/ and nasbench201/ (default: ../shared/benchmarks "
        "beside the checkout)",
    )


def data_file(data, *parts):
    """The path of a file of the shared data, or SystemExit saying where it was looked for."""
    path = pathlib.Path(data, *parts)
    if not path.exists():
        raise SystemExit(f"no {path}: point --data at the folder holding {parts[0]}/")
    return path


def load(name, data=DEFAULT_DATA):
    """One data set as `(X_train, X_test, y_train, y_test)`, scikit-learn's order.

    Args:
        name: `"digits"` (scikit-learn's 8x8 digits as 64 features, a stratified 75 / 25
            split with `random_state=0`) or a UCR set of `UCR_SETS` (X as
            `(n, steps, channels)`, the set's own train / test split).
        data: The shared data folder (`--data`).

    Returns:
        `(X_train, X_test, y_train, y_test)`, X as float32, labels as stored.
    """
    import numpy as np

    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        x, y = load_digits(return_X_y=True)
        return train_test_split(x.astype(np.float32), y, test_size=0.25, random_state=0, stratify=y)
    with np.load(data_file(data, "ucr", f"{name}.npz")) as d:
        return (
            d["X_train"].astype(np.float32),
            d["X_test"].astype(np.float32),
            d["y_train"],
            d["y_test"],
        )


def _git(*args):
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _gpus():
    # Only when the script already loaded TensorFlow: the stamp never loads it itself.
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return None
    try:
        return [device.name for device in tf.config.list_physical_devices("GPU")]
    except Exception:  # noqa: BLE001 -- a stamp must not end a finished benchmark
        return None


def stamp(argv=None):
    """Where a result comes from, as a JSON-safe dict.

    Args:
        argv: The command's arguments; defaults to `sys.argv`.

    Returns:
        A dict with `commit`, `dirty`, `versions`, `machine`, `command` and `date`.
    """
    argv = list(sys.argv if argv is None else argv)
    script = pathlib.Path(argv[0]).resolve() if argv else None
    if script is not None and script.is_relative_to(ROOT):
        argv[0] = script.relative_to(ROOT).as_posix()
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
        "versions": versions,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.machine(),
            "cpus": os.cpu_count(),
            "gpus": _gpus(),
            "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow"),
        },
        "command": "python " + shlex.join(argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def header(argv=None):
    """The stamp as `#` lines, to print first in a text result."""
    s = stamp(argv)
    versions = ", ".join(f"{name} {version}" for name, version in s["versions"].items())
    machine = s["machine"]
    gpus = ", ".join(machine["gpus"]) if machine["gpus"] else "none seen"
    commit = (s["commit"] or "unknown") + (" (uncommitted changes)" if s["dirty"] else "")
    return "\n".join(
        [
            f"# command: {s['command']}",
            f"# commit: {commit}",
            f"# date: {s['date']}",
            f"# versions: {versions}",
            f"# machine: {machine['platform']}, {machine['cpus']} CPUs, GPUs: {gpus}, "
            f"Keras backend {machine['keras_backend']}",
        ]
    )


def stamped(results, argv=None):
    """`{"stamp": stamp(argv), "results": results}`, for a JSON result file."""
    return {"stamp": stamp(argv), "results": results}
