"""Distributed searches with real chief and worker processes on 127.0.0.1.

Every test starts KerasTuner's own chief (the oracle behind gRPC) and workers as child
processes through `nasplug.distributed.LocalCluster`, for each of nasplug's strategies, and
bounds every wait. Where training is not the point, the processes run this module as a
script: a search whose `run_trial` scores the hyperparameter values with a fixed formula,
can hold a trial until the test releases it, so that a test strikes mid-trial whatever the
machine's load, and leaves a marker file at the start and end of every evaluation so that a
test can count evaluations.

The bounds on waits are generous: they only keep a broken search from hanging the suite,
and a loaded machine may be several times slower than a quiet one.
"""

import argparse
import glob
import json
import os
import signal
import sys
import time

import keras_tuner
import pytest

from nasplug import cli
from nasplug.distributed import ClusterError, LocalCluster
from nasplug.oracles import make_oracle, registry

# The processes here score values with a formula and build no networks, which a strategy
# scoring untrained networks needs (its distributed search: tests/proxies).
STRATEGIES = [s.name for s in registry.strategies() if s.is_nasplug and not s.scores_candidates]
# A chief's restart, a worker's restart, real training and failed trials are KerasTuner's
# chief/worker engine whatever the strategy: one strategy each, a different one in each
# (so that every strategy runs on a cluster), to keep the suite's time down. Each oracle's
# own state resuming exactly, and its handling of failed trials, are tested with every
# strategy in tests/oracles/test_strategies.py; the state of every strategy is read back
# by a chief here (the corrupted-state test).
# Small populations and exploration phases, so that the strategies learn within a few trials.
STRATEGY_ARGS = {
    "evolution": {"population_size": 3, "sample_size": 2},
    "predictor": {"population_size": 3, "sample_size": 2},
    "reinforce": {},
    "qlearning": {"exploration_trials": 3},
}
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "distributed_search.py")


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


def synthetic_size(values):
    """A second objective at odds with the loss: wide, deep networks are large."""
    return float(values["units"] * values["layers"])


def size_limit(metrics):
    """A user constraint, evaluated by the chief: at most 64 units x layers."""
    return metrics["size"] - 64.0


class SyntheticTuner(keras_tuner.Tuner):
    """A tuner that scores values with `synthetic_loss` instead of training a model.

    Args:
        oracle: The oracle.
        markers: Directory for one empty file per evaluation event,
            `{trial_id}.{start|end}.{pid}.{time_ns}`.
        trial_seconds: How long each evaluation takes.
        fail_trials: Trial IDs whose evaluation raises, like an invalid architecture.
        hold_trials: Trial IDs whose evaluation waits, once started, for `release_file`.
        release_file: The file a test creates to let the held trials end.
        **kwargs: Passed to `keras_tuner.Tuner`.
    """

    def __init__(
        self,
        oracle,
        markers,
        trial_seconds=0.0,
        fail_trials=(),
        hold_trials=(),
        release_file=None,
        **kwargs,
    ):
        super().__init__(oracle, **kwargs)
        self.markers = markers
        self.trial_seconds = trial_seconds
        self.fail_trials = set(fail_trials)
        self.hold_trials = set(hold_trials)
        self.release_file = release_file

    def run_trial(self, trial, *args, **kwargs):
        self._mark(trial, "start")
        time.sleep(self.trial_seconds)
        while trial.trial_id in self.hold_trials and not os.path.exists(self.release_file):
            time.sleep(0.05)
        if trial.trial_id in self.fail_trials:
            raise ValueError(f"invalid architecture: trial {trial.trial_id} cannot be built")
        loss = synthetic_loss(trial.hyperparameters.values)
        self._mark(trial, "end")
        return {"loss": loss, "size": synthetic_size(trial.hyperparameters.values)}

    def _mark(self, trial, event):
        name = f"{trial.trial_id}.{event}.{os.getpid()}.{time.time_ns()}"
        open(os.path.join(self.markers, name), "w").close()


def build_tuner(
    strategy,
    directory,
    max_trials,
    trial_seconds=0.0,
    fail_trials=(),
    hold_trials=(),
    max_retries_per_trial=0,
    max_consecutive_failed_trials=3,
    seed=7,
    pareto=False,
):
    markers = os.path.join(directory, "markers")
    os.makedirs(markers, exist_ok=True)
    multi_objective = {}
    if pareto:
        multi_objective = {
            "objective": [
                keras_tuner.Objective("loss", "min"),
                keras_tuner.Objective("size", "min"),
            ],
            "pareto": True,
            "constraints": [size_limit],
        }
    oracle = make_oracle(
        strategy,
        **(multi_objective or {"objective": keras_tuner.Objective("loss", "min")}),
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
        hold_trials=hold_trials,
        release_file=release_file(directory),
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
    parser.add_argument("--hold-trials", default="")
    parser.add_argument("--max-retries-per-trial", type=int, default=0)
    parser.add_argument("--max-consecutive-failed-trials", type=int, default=3)
    parser.add_argument("--pareto", type=int, default=0)
    args = parser.parse_args(argv)
    tuner = build_tuner(
        args.strategy,
        args.directory,
        args.max_trials,
        trial_seconds=args.trial_seconds,
        fail_trials=[t for t in args.fail_trials.split(",") if t],
        hold_trials=[t for t in args.hold_trials.split(",") if t],
        max_retries_per_trial=args.max_retries_per_trial,
        max_consecutive_failed_trials=args.max_consecutive_failed_trials,
        pareto=bool(args.pareto),
    )
    tuner.search(verbose=0)


def release_file(directory):
    """The file that lets held trials end (see `SyntheticTuner`)."""
    return os.path.join(directory, "release")


# The tests.


def synthetic_cluster(directory, strategy, workers, max_trials, **options):
    """A `LocalCluster` whose processes run this module's search in `directory`."""
    os.makedirs(os.path.join(directory, "markers"), exist_ok=True)
    command = [sys.executable, __file__, "--strategy", strategy, "--directory", str(directory)]
    command += ["--max-trials", str(max_trials)]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return LocalCluster(command, workers=workers, echo=False, stop_grace=5.0, output_lines=2000)


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
    configurations = [json.dumps(v, sort_keys=True) for v in values_of(trials).values()]
    assert len(set(configurations)) == max_trials
    ends = [trial_id for trial_id, _ in evaluations(directory, "end")]
    assert sorted(ends, key=int) == sorted(trials, key=int)
    for trial in trials.values():
        assert trial["score"] == synthetic_loss(trial["hyperparameters"]["values"])
    return oracle, trials


def uninterrupted_values(directory, strategy, max_trials, pareto=False):
    """The values of each trial of the same search run straight through, in this process."""
    build_tuner(strategy, str(directory), max_trials, pareto=pareto).search(verbose=0)
    return values_of(read_search(directory)[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    "strategy",
    # A population (evolution; a learned policy's restart: the Pareto test below). Every
    # strategy's own state resumes exactly in tests/oracles; the chief's restart is
    # KerasTuner's.
    # grpcio's lower bound rests on it: below 1.80 the worker's trial is lost.
    [pytest.param("evolution", marks=pytest.mark.lowest)],
)
def test_chief_killed_mid_search_resumes_exactly(tmp_path, strategy):
    max_trials = 6
    directory = tmp_path / "cluster"
    with synthetic_cluster(directory, strategy, 1, max_trials, hold_trials="2") as cluster:
        wait_for(lambda: "2" in dict(evaluations(directory, "start")), 600, "trial 2 to start")
        os.kill(cluster.pid("chief"), signal.SIGKILL)
        cluster.processes["chief"].popen.wait(timeout=60)
        _, before = read_search(directory)
        open(release_file(directory), "w").close()
        assert cluster.wait(timeout=600) == 0
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
    # What the restarted chief proposed is what an uninterrupted search proposes.
    assert values_of(trials) == uninterrupted_values(tmp_path / "reference", strategy, max_trials)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["qlearning"])
def test_worker_killed_mid_trial_search_completes(tmp_path, strategy):
    max_trials = 5
    directory = tmp_path / "cluster"
    with synthetic_cluster(directory, strategy, 1, max_trials, hold_trials="1") as cluster:
        wait_for(lambda: "1" in dict(evaluations(directory, "start")), 600, "trial 1 to start")
        victim_pid = cluster.pid("tuner0")
        os.kill(victim_pid, signal.SIGKILL)
        cluster.processes["tuner0"].popen.wait(timeout=60)
        open(release_file(directory), "w").close()
        assert cluster.wait(timeout=600) == 0
    assert cluster.processes["tuner0"].restarts == 1
    assert cluster.processes["chief"].restarts == 0

    _, trials = assert_completed_once(directory, max_trials)
    # The killed worker, restarted under its tuner ID, took its trial up again.
    assert [(t, pid == victim_pid) for t, pid in evaluations(directory, "start")] == [
        ("0", True),
        ("1", True),
        ("1", False),
        ("2", False),
        ("3", False),
        ("4", False),
    ]
    assert values_of(trials) == uninterrupted_values(tmp_path / "reference", strategy, max_trials)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["predictor"])
def test_chief_and_two_workers_train_real_models_to_max_trials(tmp_path, strategy):
    command = [sys.executable, EXAMPLE, "--strategy", strategy, "--directory", str(tmp_path)]
    command += ["--max-trials", "4", "--epochs", "1", "--samples", "300"]
    with LocalCluster(command, workers=2, echo=False, stop_grace=5.0) as cluster:
        # Workers leave when the chief tells them the search is over. The chief itself then
        # sleeps up to 20 s in KerasTuner before it returns, which this test does not wait for.
        wait_for(lambda: all(p.returncode is not None for p in cluster.workers), 600, "the workers")
        assert [p.returncode for p in cluster.workers] == [0, 0]
        assert cluster.chief.returncode in (None, 0)
    assert sum(p.restarts for p in cluster.processes.values()) == 0

    project = tmp_path / strategy
    with open(project / "oracle.json") as f:
        oracle = json.load(f)
    trials = {}
    for trial_id in oracle["start_order"]:
        with open(project / f"trial_{trial_id}" / "trial.json") as f:
            trials[trial_id] = json.load(f)
    assert sorted(trials) == ["0", "1", "2", "3"]
    assert sorted(oracle["end_order"]) == ["0", "1", "2", "3"]
    assert {t["status"] for t in trials.values()} == {"COMPLETED"}
    assert all(0.0 <= t["score"] <= 1.0 for t in trials.values())
    configurations = {
        json.dumps(t["hyperparameters"]["values"], sort_keys=True) for t in trials.values()
    }
    assert len(configurations) == 4


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["qlearning", "predictor"])
def test_failed_trials_are_recorded_and_consecutive_failures_stop_the_search(tmp_path, strategy):
    # Trial 1 fails alone; 3, 4 and 5 fail in a row, which stops the search at the third.
    # Each is tried twice before it counts as failed.
    with synthetic_cluster(
        tmp_path,
        strategy,
        1,
        8,
        fail_trials="1,3,4,5",
        max_retries_per_trial=1,
        max_consecutive_failed_trials=3,
    ) as cluster:
        with pytest.raises(ClusterError) as raised:
            cluster.wait(timeout=600)
    message = str(raised.value)
    assert "max_consecutive_failed_trials" in message
    assert "ValueError: invalid architecture: trial 5 cannot be built" in message.splitlines()[0]
    assert cluster.processes["tuner0"].restarts == 0

    _, trials = read_search(tmp_path)
    assert {t: trials[t]["status"] for t in ["0", "1", "2", "3", "4"]} == {
        "0": "COMPLETED",
        "1": "FAILED",
        "2": "COMPLETED",
        "3": "FAILED",
        "4": "FAILED",
    }
    assert "6" not in trials
    started = [t for t, _ in evaluations(tmp_path, "start")]
    assert started == ["0", "1", "1", "2", "3", "3", "4", "4", "5", "5"]
    # KerasTuner's gRPC Trial message has no field for the error, so the chief records the
    # failure without it; the worker's own output, which the cluster keeps, has it.
    worker_output = cluster.output("tuner0")
    for trial_id in ["1", "3", "4", "5"]:
        assert f"invalid architecture: trial {trial_id} cannot be built" in worker_output


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_corrupted_oracle_state_is_one_clear_error_naming_the_file(tmp_path, strategy):
    build_tuner(strategy, str(tmp_path), 2).search(verbose=0)
    fname = tmp_path / "search" / "oracle.json"
    text = fname.read_text()
    fname.write_text(text[: len(text) // 2])

    with pytest.raises(RuntimeError, match="corrupted or truncated") as raised:
        build_tuner(strategy, str(tmp_path), 4)
    assert str(fname) in str(raised.value)
    assert fname.read_text() == text[: len(text) // 2]


@pytest.mark.slow
def test_chief_with_a_corrupted_state_stops_the_cluster_with_the_error(tmp_path, monkeypatch):
    # KerasTuner resumes from the state only where it finds the tuner file of the same ID.
    with monkeypatch.context() as patch:
        patch.setenv("KERASTUNER_TUNER_ID", "chief")
        build_tuner("evolution", str(tmp_path), 2).search(verbose=0)
    fname = tmp_path / "search" / "oracle.json"
    fname.write_text(fname.read_text()[:100])

    with synthetic_cluster(tmp_path, "evolution", 1, 4) as cluster:
        with pytest.raises(ClusterError) as raised:
            cluster.wait(timeout=600)
    assert "chief exited with code 1 while starting" in str(raised.value)
    assert str(fname) in str(raised.value)
    assert "corrupted or truncated" in str(raised.value)
    # Not restarted, and the workers, which would wait for it forever, were stopped.
    assert cluster.chief.restarts == 0
    assert all(p.returncode is not None for p in cluster.workers)


def test_print_commands_for_other_hosts(tmp_path, capsys):
    script = tmp_path / "search.py"
    script.write_text("")
    code = cli.main(
        [
            "distributed",
            "--print-commands",
            "--host",
            "10.0.0.5",
            "--workers",
            "2",
            str(script),
            "--epochs",
            "3",
        ]
    )
    assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert lines == [
        f"KERASTUNER_TUNER_ID={tuner_id} KERASTUNER_ORACLE_IP=10.0.0.5 KERASTUNER_ORACLE_PORT=8000 "
        f"python {script} --epochs 3"
        for tuner_id in ["chief", "tuner0", "tuner1"]
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv, error",
    [
        (["--workers", "0", "SCRIPT"], "--workers must be at least 1, got 0"),
        (["--print-commands", "SCRIPT"], "--print-commands needs --host"),
        (["MISSING"], "no such script"),
        (["--max-restarts", "-1", "SCRIPT"], "`max_restarts` must be 0 or more, got -1"),
    ],
)
def test_bad_launcher_arguments_are_one_clear_error(tmp_path, capsys, argv, error):
    script = tmp_path / "search.py"
    script.write_text("")
    argv = [
        str(script) if a == "SCRIPT" else str(tmp_path / "missing.py") if a == "MISSING" else a
        for a in argv
    ]
    assert cli.main(["distributed"] + argv) == 2
    assert error in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["reinforce"])
def test_pareto_search_with_a_constraint_survives_a_chief_restart_exactly(tmp_path, strategy):
    max_trials = 7
    directory = tmp_path / "cluster"
    cluster = synthetic_cluster(directory, strategy, 1, max_trials, hold_trials="3", pareto=1)
    with cluster:
        wait_for(lambda: "3" in dict(evaluations(directory, "start")), 600, "trial 3 to start")
        os.kill(cluster.pid("chief"), signal.SIGKILL)
        cluster.processes["chief"].popen.wait(timeout=60)
        open(release_file(directory), "w").close()
        assert cluster.wait(timeout=600) == 0
    assert cluster.processes["chief"].restarts == 1

    oracle, trials = assert_completed_once(directory, max_trials)
    assert oracle["pareto"] is True
    assert [o["name"] for o in oracle["objectives"]] == ["loss", "size"]
    assert oracle["constraints"] == [{"name": "size_limit", "metric": None, "limit": None}]
    for trial in trials.values():
        # The chief scored each trial by its first objective and recorded the violation
        # of the user's constraint, worker-reported metrics and all.
        values = trial["hyperparameters"]["values"]
        metrics = trial["metrics"]["metrics"]
        violation = metrics["constraint_violation"]["observations"][0]["value"][0]
        assert violation == max(0.0, synthetic_size(values) - 64.0)
    reference = uninterrupted_values(tmp_path / "reference", strategy, max_trials, pareto=True)
    assert values_of(trials) == reference


if __name__ == "__main__":
    main()
