"""How long `fit(time_budget=B)` takes, this checkout beside another.

`time_budget` once bounded the search alone, and the refit followed; it now bounds the
whole `fit`. For each data set, `NASClassifier(time_budget=B, max_trials=1000)` is fitted
by a worker process on each checkout, one after the other, and the table gives the wall
time of `fit`, the search's part, the trials, the networks `best_model_` averages and the
accuracy on held-out rows (a hint of quality only: one seed).

    git archive <commit before the change> nasplug | tar -x -C /tmp/budgetold
    python benchmarks/perf/fit_time_budget.py --repo /tmp/budgetold --budget 60

Data sets (scikit-learn's digits, so nothing to download): `digits`, 1,437 training rows
(trials scored on a held-out fifth, one refit network); `digits-small`, 300 training
rows (trials cross-validated over 3 folds, five refit networks of all `epochs_`: the costly
refit). Only public names are used, so the worker runs on any checkout of nasplug.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

REPO = str(pathlib.Path(__file__).resolve().parents[2])
SETS = {"digits": None, "digits-small": 300}


def worker(name, budget):
    """Fits on one set; prints one JSON line."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    import nasplug

    print(f"nasplug from {os.path.dirname(nasplug.__file__)}", file=sys.stderr)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, train_size=0.8, random_state=0, stratify=y
    )
    rows = SETS[name]
    if rows is not None:
        X_train, y_train = X_train[:rows], y_train[:rows]
    clf = nasplug.NASClassifier(max_trials=1000, time_budget=budget, random_state=0)
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X_train, y_train)
    wall = time.monotonic() - start
    notes = [str(w.message) for w in caught if "time_budget" in str(w.message)]
    print(
        json.dumps(
            {
                "fit_s": wall,
                "search_s": clf.search_seconds_,
                "trials": len(clf.search_results_),
                "networks": clf.ensemble_size_,
                "test_accuracy": float(clf.score(X_test, y_test)),
                "note": notes[0] if notes else "",
            }
        )
    )


def run(repo, name, budget):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]))
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [sys.executable, os.path.abspath(__file__), "--worker", name]
    command += ["--budget", str(budget)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    loaded = [line for line in done.stderr.splitlines() if line.startswith("nasplug from")]
    if not loaded or not loaded[0].endswith(os.path.join(os.path.abspath(repo), "nasplug")):
        raise RuntimeError(f"The worker did not load nasplug from {repo}:\n{done.stderr[-4000:]}")
    if done.returncode != 0:
        raise RuntimeError(f"The worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--repo", help="another checkout of nasplug, measured beside this one")
    parser.add_argument("--worker", choices=list(SETS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.budget)
        return
    # In the parent only: a worker imports nasplug from the checkout on its PYTHONPATH.
    sys.path.insert(0, REPO)
    from benchmarks import common

    print(common.header(), flush=True)
    checkouts = [("this", REPO)] + ([("other", os.path.abspath(args.repo))] if args.repo else [])
    for label, path in checkouts:
        commit = subprocess.run(
            ["git", "-C", path, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        where = os.path.relpath(path, REPO)
        print(f"# {label}: {where} at {commit or 'an exported tree, no git'}", flush=True)
    print(
        "| set | checkout | budget s | fit s | search s | over budget | trials | networks "
        "| test accuracy |",
        flush=True,
    )
    print("|---|---|---|---|---|---|---|---|---|", flush=True)
    notes = []
    for name in args.sets:
        for label, path in checkouts:
            r = run(path, name, args.budget)
            print(
                f"| {name} | {label} | {args.budget:g} | {r['fit_s']:.1f} | {r['search_s']:.1f} "
                f"| {r['fit_s'] / args.budget:.2f}x | {r['trials']} | {r['networks']} "
                f"| {r['test_accuracy']:.3f} |",
                flush=True,
            )
            if r["note"]:
                notes.append(f"{name}, {label}: {r['note']}")
    for note in notes:
        print(f"\n{note}", flush=True)


if __name__ == "__main__":
    main()
