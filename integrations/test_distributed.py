"""Distributed searches with real chief and worker processes on 127.0.0.1.

Every test starts KerasTuner's own chief (the oracle behind gRPC) and workers as child
processes through `nasplug.distributed.LocalCluster`, for each of nasplug's strategies, and
bounds every wait. Where training is not the point, the processes run this module as a
script: a search whose `run_trial` scores the hyperparameter values with a fixed formula,
sleeps a little so that a test can strike mid-trial, and leaves a marker file at the start
and end of every evaluation so that a test can count evaluations.
"""

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time

import keras_tuner
import pytest

from nasplug.distributed import LocalCluster
from nasplug.oracles import make_oracle

STRATEGIES = ["evolution", "reinforce", "qlearning"]
# Small populations and exploration phases, so that the strategies learn within a few trials.
STRATEGY_ARGS = {
    "evolution": {"population_size": 3, "sample_size": 2},
    "reinforce": {},
    "qlearning": {"exploration_trials": 3},
}
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(HERE), "examples", "distributed_search.py")


# The search the processes run.


def search_space():
    hps = keras_tuner.HyperParameters()
    hps.Choice("units", [8, 16, 32, 64])
    hps.Int("layers", 1, 4)
    hps.Choice("activation", ["relu", "tanh"])
    hps.Choice("learning_rate", [0.001, 0.01, 0.1])
    return hps


def synthetic_loss(values):
    """A loss with a single best configuration (32 units, 2 layers, relu, 0.01)."""
    return float(
        abs(values["units"] - 32) / 32
        + abs(values["layers"] - 2)
        + (values["activation"] != "relu") * 0.5
        + abs({0.001: -1, 0.01: 0, 0.1: 1}[values["learning_rate"]]) * 0.3
    )


class SyntheticTuner(keras_tuner.Tuner):
    """A tuner that scores values with `synthetic_loss` instead of training a model.

    Args:
        oracle: The oracle.
        markers: Directory for one empty file per evaluation event,
            `{trial_id}.{start|end}.{pid}.{time_ns}`.
        trial_seconds: How long each evaluation takes.
        fail_trials: Trial IDs whose evaluation raises, like an invalid architecture.
        **kwargs: Passed to `keras_tuner.Tuner`.
    """

    def __init__(self, oracle, markers, trial_seconds=0.0, fail_trials=(), **kwargs):
        super().__init__(oracle, **kwargs)
        self.markers = markers
        self.trial_seconds = trial_seconds
        self.fail_trials = set(fail_trials)

    def run_trial(self, trial, *args, **kwargs):
        self._mark(trial, "start")
        time.sleep(self.trial_seconds)
        if trial.trial_id in self.fail_trials:
            raise ValueError(f"invalid architecture: trial {trial.trial_id} cannot be built")
        loss = synthetic_loss(trial.hyperparameters.values)
        self._mark(trial, "end")
        return {"loss": loss}

    def _mark(self, trial, event):
        name = f"{trial.trial_id}.{event}.{os.getpid()}.{time.time_ns()}"
        open(os.path.join(self.markers, name), "w").close()


def build_tuner(
    strategy,
    directory,
    max_trials,
    trial_seconds=0.0,
    fail_trials=(),
    max_retries_per_trial=0,
    max_consecutive_failed_trials=3,
    seed=7,
):
    markers = os.path.join(directory, "markers")
    os.makedirs(markers, exist_ok=True)
    oracle = make_oracle(
        strategy,
        objective=keras_tuner.Objective("loss", "min"),
        max_trials=max_trials,
        seed=seed,
        hyperparameters=search_space(),
        max_retries_per_trial=max_retries_per_trial,
        max_consecutive_failed_trials=max_consecutive_failed_trials,
        **STRATEGY_ARGS[strategy],
    )
    return SyntheticTuner(
        oracle,
        markers=markers,
        trial_seconds=trial_seconds,
        fail_trials=fail_trials,
        directory=directory,
        project_name="search",
        overwrite=False,
    )


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", required=True, choices=STRATEGIES)
    parser.add_argument("--directory", required=True)
    parser.add_argument("--max-trials", type=int, required=True)
    parser.add_argument("--trial-seconds", type=float, default=0.0)
    parser.add_argument("--fail-trials", default="")
    parser.add_argument("--max-retries-per-trial", type=int, default=0)
    parser.add_argument("--max-consecutive-failed-trials", type=int, default=3)
    args = parser.parse_args(argv)
    tuner = build_tuner(
        args.strategy,
        args.directory,
        args.max_trials,
        trial_seconds=args.trial_seconds,
        fail_trials=[t for t in args.fail_trials.split(",") if t],
        max_retries_per_trial=args.max_retries_per_trial,
        max_consecutive_failed_trials=args.max_consecutive_failed_trials,
    )
    tuner.search(verbose=0)


# The tests.


def synthetic_cluster(directory, strategy, workers, max_trials, **options):
    """A `LocalCluster` whose processes run this module's search in `directory`."""
    command = [sys.executable, __file__, "--strategy", strategy, "--directory", str(directory)]
    command += ["--max-trials", str(max_trials)]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return LocalCluster(command, workers=workers, echo=False, stop_grace=5.0)


def read_search(directory):
    """Returns the chief's saved oracle state and `{trial_id: trial state}`."""
    project = os.path.join(directory, "search")
    with open(os.path.join(project, "oracle.json")) as f:
        oracle = json.load(f)
    trials = {}
    for fname in glob.glob(os.path.join(project, "trial_*", "trial.json")):
        with open(fname) as f:
            trial = json.load(f)
        trials[trial["trial_id"]] = trial
    return oracle, trials


def evaluations(directory, event):
    """Returns `[(trial_id, pid)]` of the evaluation `event`s ("start" or "end"), in time order."""
    found = []
    for name in os.listdir(os.path.join(directory, "markers")):
        trial_id, kind, pid, stamp = name.split(".")
        if kind == event:
            found.append((int(stamp), trial_id, int(pid)))
    return [(trial_id, pid) for _, trial_id, pid in sorted(found)]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def values_of(trials):
    return {trial_id: trial["hyperparameters"]["values"] for trial_id, trial in trials.items()}


def assert_completed_once(directory, max_trials):
    """Every trial completed, ended once, and no configuration was evaluated twice."""
    oracle, trials = read_search(directory)
    assert sorted(trials, key=int) == [str(i) for i in range(max_trials)]
    assert {t["status"] for t in trials.values()} == {"COMPLETED"}
    assert sorted(oracle["end_order"], key=int) == sorted(trials, key=int)
    assert oracle["ongoing_trials"] == {} or all(
        trials[t]["status"] == "COMPLETED" for t in oracle["ongoing_trials"].values()
    )
    configurations = [json.dumps(v, sort_keys=True) for v in values_of(trials).values()]
    assert len(set(configurations)) == max_trials
    ends = [trial_id for trial_id, _ in evaluations(directory, "end")]
    assert sorted(ends, key=int) == sorted(trials, key=int)
    for trial in trials.values():
        assert trial["score"] == synthetic_loss(trial["hyperparameters"]["values"])
    return oracle, trials


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_chief_killed_mid_search_resumes_exactly(tmp_path, strategy):
    max_trials = 6
    # The uninterrupted search, in this process: the same oracle, seed and objective.
    build_tuner(strategy, str(tmp_path / "reference"), max_trials).search(verbose=0)
    _, reference = read_search(tmp_path / "reference")

    directory = tmp_path / "cluster"
    with synthetic_cluster(directory, strategy, 1, max_trials, trial_seconds=0.4) as cluster:
        wait_for(lambda: "2" in dict(evaluations(directory, "start")), 120, "trial 2 to start")
        os.kill(cluster.pid("chief"), signal.SIGKILL)
        cluster.processes["chief"].popen.wait(timeout=10)
        _, before = read_search(directory)
        assert cluster.wait(timeout=120) == 0
    assert cluster.processes["chief"].restarts == 1
    assert cluster.processes["tuner0"].restarts == 0

    _, trials = assert_completed_once(directory, max_trials)
    # Trials 0 and 1 completed before the chief died and are kept as they were.
    completed_before = {t: s for t, s in before.items() if s["status"] == "COMPLETED"}
    assert sorted(completed_before) == ["0", "1"]
    for trial_id, state in completed_before.items():
        assert trials[trial_id]["hyperparameters"]["values"] == state["hyperparameters"]["values"]
        assert trials[trial_id]["score"] == state["score"]
    # The trial running when the chief died was finished by its worker, not run again.
    assert [t for t, _ in evaluations(directory, "start")] == [str(i) for i in range(max_trials)]
    # What the restarted chief proposed is what the uninterrupted search proposed.
    assert values_of(trials) == values_of(reference)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_worker_killed_mid_trial_search_completes(tmp_path, strategy):
    max_trials = 6
    with synthetic_cluster(tmp_path, strategy, 2, max_trials, trial_seconds=0.4) as cluster:
        wait_for(lambda: "1" in dict(evaluations(tmp_path, "start")), 120, "trial 1 to start")
        victim_pid = dict(evaluations(tmp_path, "start"))["1"]
        victim = next(p for p in cluster.workers if p.popen.pid == victim_pid)
        os.kill(victim_pid, signal.SIGKILL)
        assert cluster.wait(timeout=150) == 0
    assert victim.restarts == 1
    assert sum(p.restarts for p in cluster.processes.values()) == 1

    assert_completed_once(tmp_path, max_trials)
    # Trial 1 started twice, the second time in the restarted worker, and ended once.
    starts = [(t, pid) for t, pid in evaluations(tmp_path, "start") if t == "1"]
    assert [pid for _, pid in starts] == [victim_pid, victim.popen.pid]


if __name__ == "__main__":
    main()
