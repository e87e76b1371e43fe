"""Several processes sharing one Optuna study in a SQLite storage, each with a NASSampler.

The processes run this module as a script: a study of the synthetic cell objective
(tests/support/synthetic.py) whose trials take a moment, so that trials of the two processes run
at the same time. Every wait is bounded.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
# Run as a script too (the processes it starts): `tests.support` from the checkout.
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir))

from tests.support.synthetic import OPS, cell_score  # noqa: E402

optuna = pytest.importorskip("optuna")
from optuna.trial import TrialState  # noqa: E402

from nasplug.integrations.optuna import PROPOSAL_KEY, NASSampler  # noqa: E402


def objective(trial, pause=0.0, hold=None):
    values = {"depth": trial.suggest_int("depth", 1, 3)}
    for cell in range(values["depth"]):
        values[f"cell{cell}_a"] = trial.suggest_categorical(f"cell{cell}_a", OPS)
        values[f"cell{cell}_b"] = trial.suggest_categorical(f"cell{cell}_b", OPS)
    values["width"] = trial.suggest_categorical("width", [16, 32, 64, 128])
    values["lr"] = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    time.sleep(pause)
    if hold is not None and trial.number == hold[0]:
        # The trial a test kills the process in: it says so, then never ends by itself.
        open(hold[1], "w").close()
        time.sleep(600)
    return cell_score(values)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--storage", required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--pause", type=float, default=0.3)
    parser.add_argument("--hold", type=int, default=None, help="trial number held, with --marker")
    parser.add_argument("--marker", default=None)
    args = parser.parse_args(argv)
    hold = None if args.hold is None else (args.hold, args.marker)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name="shared", storage=args.storage, sampler=NASSampler("evolution", seed=args.seed)
    )
    study.optimize(lambda t: objective(t, args.pause, hold), n_trials=args.trials)


def start(storage, trials, seed, pause=0.3, hold=()):
    return subprocess.Popen(
        [sys.executable, __file__, "--storage", storage, "--trials", str(trials)]
        + ["--seed", str(seed), "--pause", str(pause)]
        + (["--hold", str(hold[0]), "--marker", str(hold[1])] if hold else []),
        env={**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def create(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(study_name="shared", storage=storage, direction="maximize")
    return storage


def overlapping_pairs(trials):
    for i, a in enumerate(trials):
        for b in trials[i + 1 :]:
            a_end = a.datetime_complete or a.datetime_start
            b_end = b.datetime_complete or b.datetime_start
            if a.datetime_start < b_end and b.datetime_start < a_end:
                yield a, b


@pytest.mark.slow
def test_two_processes_propose_at_once_without_duplicates(tmp_path):
    storage = create(tmp_path)
    processes = [start(storage, 12, seed) for seed in (0, 1)]
    try:
        for process in processes:
            assert process.wait(timeout=600) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    study = optuna.load_study(study_name="shared", storage=storage)
    trials = study.trials
    assert len(trials) == 24 and all(t.state == TrialState.COMPLETE for t in trials)
    pairs = list(overlapping_pairs(trials))
    assert pairs, "the two processes never ran trials at the same time"
    for a, b in pairs:
        assert a.params != b.params, (a.number, b.number)
    proposals = [t.system_attrs[PROPOSAL_KEY] for t in trials if PROPOSAL_KEY in t.system_attrs]
    assert len(proposals) >= 20
    for a, b in overlapping_pairs([t for t in trials if PROPOSAL_KEY in t.system_attrs]):
        assert a.system_attrs[PROPOSAL_KEY] != b.system_attrs[PROPOSAL_KEY]


@pytest.mark.slow
def test_a_killed_process_study_is_continued_by_another(tmp_path):
    storage = create(tmp_path)
    # Killed in its ninth trial, after eight complete ones, however slow the machine.
    marker = tmp_path / "held"
    process = start(storage, 1000, seed=0, pause=0.1, hold=(8, marker))
    study = optuna.load_study(study_name="shared", storage=storage)
    try:
        deadline = time.monotonic() + 600
        while not marker.exists():
            assert process.poll() is None, "the first process ended early"
            assert time.monotonic() < deadline, "the first process made no progress"
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    done = study.get_trials(states=(TrialState.COMPLETE,))
    left_running = study.get_trials(states=(TrialState.RUNNING,))
    assert len(done) == 8
    assert len(left_running) == 1  # killed mid-trial: Optuna never hears of its end

    sampler = NASSampler("evolution", seed=1)
    again = optuna.load_study(study_name="shared", storage=storage, sampler=sampler)
    again.optimize(objective, n_trials=6)
    oracle = sampler.oracle
    replayed = [oracle.trials[i].hyperparameters.values for i in oracle.end_order]
    assert replayed[: len(done)] == [t.params for t in done]
    new = again.trials[-6:]
    assert all(t.state == TrialState.COMPLETE for t in new)
    stale = left_running[0].system_attrs.get(PROPOSAL_KEY)
    earlier = [t.params for t in done]
    for trial in new:
        assert trial.params != stale and trial.params not in earlier


if __name__ == "__main__":
    main()
