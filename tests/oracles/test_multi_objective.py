"""Pareto mode and constraints of every nasplug strategy, on a synthetic two-objective space.

No training: a trial's accuracy and cost are known functions of its values, so the true
Pareto front is known by enumerating the space.
"""

import itertools
import json
import os
import subprocess
import sys
import zlib

import keras_tuner as kt
import numpy as np
import pytest

from nasplug import proxies
from nasplug.oracles import EvolutionOracle, make_oracle, pareto, registry
from nasplug.oracles.base import VIOLATION
from tests.support.synthetic import drive, hashed_proxy

# Strategies searching on a supernet need a tuner's data (tests/oneshot/).
ORACLES = [
    s.oracle_class()
    for s in registry.strategies()
    if s.is_nasplug and not getattr(s.oracle_class(), "needs_supernet", False)
]
OPS = ["none", "skip", "pool", "conv1", "conv3"]
QUALITY = {"none": 0.0, "skip": 1.0, "pool": 1.4, "conv1": 2.5, "conv3": 3.2}
COST = {"none": 0.0, "skip": 0.3, "pool": 1.0, "conv1": 2.0, "conv3": 4.5}
DECISIONS = [f"edge_{i}" for i in range(5)]
OBJECTIVES = [kt.Objective("accuracy", "max"), kt.Objective("cost", "min")]


def space():
    hp = kt.HyperParameters()
    for name in DECISIONS:
        hp.Choice(name, OPS)
    return hp


def evaluate(values):
    """Accuracy with diminishing returns and a small fixed per-cell jitter; cost additive."""
    quality = sum(QUALITY[values[d]] for d in DECISIONS)
    jitter = zlib.crc32(json.dumps(values, sort_keys=True).encode()) % 1000 / 1000.0
    accuracy = 10 * (1 - np.exp(-quality / 6)) + 0.3 * jitter
    return {"accuracy": float(accuracy), "cost": float(sum(COST[values[d]] for d in DECISIONS))}


def all_points():
    cells = [dict(zip(DECISIONS, ops)) for ops in itertools.product(OPS, repeat=len(DECISIONS))]
    return np.array([[-evaluate(v)["accuracy"], evaluate(v)["cost"]] for v in cells])


POINTS = all_points()
REFERENCE = POINTS.max(axis=0)
TRUE_HYPERVOLUME = pareto.hypervolume(POINTS[pareto.pareto_mask(POINTS)], REFERENCE)


def front_ratio(trials):
    points = np.array(
        [[-t.metrics.get_last_value("accuracy"), t.metrics.get_last_value("cost")] for t in trials]
    )
    return pareto.hypervolume(points, REFERENCE) / TRUE_HYPERVOLUME


def make(cls, **kwargs):
    kwargs.setdefault("objective", OBJECTIVES)
    kwargs.setdefault("pareto", True)
    kwargs.setdefault("hyperparameters", space())
    oracle = cls(**kwargs)
    proxies.give_scorer(oracle, hashed_proxy)
    return oracle


def completed(oracle):
    return [t for t in oracle.trials.values() if t.status == "COMPLETED"]


@pytest.mark.parametrize("cls", ORACLES)
def test_pareto_front_is_the_non_dominated_completed_trials(cls, tmp_path):
    oracle = make(cls, max_trials=40, seed=3)
    drive(oracle, evaluate, 40, tmp_path)
    trials = completed(oracle)
    points = np.array(
        [[-t.metrics.get_last_value("accuracy"), t.metrics.get_last_value("cost")] for t in trials]
    )
    expected = {t.trial_id for t, keep in zip(trials, pareto.pareto_mask(points)) if keep}
    front = oracle.pareto_front()
    assert {t.trial_id for t in front} == expected
    # Best first in the first objective; the score is that objective's value, a float.
    accuracies = [t.metrics.get_last_value("accuracy") for t in front]
    assert accuracies == sorted(accuracies, reverse=True)
    for trial in trials:
        assert type(trial.score) is float
        assert trial.score == trial.metrics.get_last_value("accuracy")
    best = oracle.get_best_trials(len(trials))
    assert [t.trial_id for t in best[: len(front)]] == [t.trial_id for t in front]
    assert oracle.get_best_trials(1)[0].trial_id == front[0].trial_id


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["evolution", "predictor"])
def test_pareto_selection_finds_more_of_the_front_than_random_search(strategy, tmp_path):
    ours, random = [], []
    kwargs = {"population_size": 8, "sample_size": 3} if strategy == "evolution" else {}
    for seed in range(5):
        oracle = make_oracle(
            strategy,
            objective=OBJECTIVES,
            pareto=True,
            hyperparameters=space(),
            max_trials=50,
            seed=seed,
            **kwargs,
        )
        drive(oracle, evaluate, 50, tmp_path / f"{strategy}{seed}")
        ours.append(front_ratio(oracle.pareto_front()))
        baseline = kt.oracles.RandomSearchOracle(
            objective=OBJECTIVES[0], max_trials=50, hyperparameters=space(), seed=seed + 1
        )
        drive(baseline, evaluate, 50, tmp_path / f"random{seed}")
        random.append(front_ratio(completed(baseline)))
    assert np.mean(ours) > np.mean(random) + 0.02, (ours, random)


@pytest.mark.parametrize("cls", ORACLES)
def test_constraints_steer_the_search_and_infeasible_trials_complete(cls, tmp_path):
    def cheap(metrics):
        return metrics["cost"] - 4.0

    oracle = make(cls, max_trials=50, seed=1, constraints=[cheap])
    proposed = drive(oracle, evaluate, 50, tmp_path)
    trials = completed(oracle)
    assert len(trials) == 50, "an infeasible trial is completed, not failed"
    for trial in trials:
        violation = trial.metrics.get_last_value(VIOLATION)
        assert violation == pytest.approx(max(0.0, trial.metrics.get_last_value("cost") - 4.0))
    front = oracle.pareto_front()
    assert front and all(t.metrics.get_last_value(VIOLATION) == 0 for t in front)
    # Feasible trials rank first, then by the least violation.
    ranked = oracle.get_best_trials(50)
    violations = [t.metrics.get_last_value(VIOLATION) for t in ranked]
    feasible = sum(v == 0 for v in violations)
    assert violations[:feasible] == [0.0] * feasible
    assert violations[feasible:] == sorted(violations[feasible:])
    if cls.__name__ == "QLearningOracle":
        # Its Q-table needs longer searches than 50 trials to move (see the README);
        # that it learns the rank rewards is checked by the other tests.
        return
    # The search moves to the feasible region: more of the later proposals are feasible
    # than of random values.
    late = [evaluate(v)["cost"] <= 4.0 for v in proposed[25:]]
    rng = np.random.default_rng(0)
    random_share = np.mean(
        [evaluate({d: OPS[rng.integers(5)] for d in DECISIONS})["cost"] <= 4.0 for _ in range(2000)]
    )
    assert np.mean(late) > random_share + 0.1, (np.mean(late), random_share)


def test_constraints_without_pareto_rank_feasible_trials_first(tmp_path):
    oracle = make(
        EvolutionOracle,
        objective=kt.Objective("accuracy", "max"),
        pareto=False,
        max_trials=30,
        seed=2,
        constraints=[lambda m: m["cost"] - 3.0],
        population_size=6,
        sample_size=2,
    )
    drive(oracle, evaluate, 30, tmp_path)
    trials = completed(oracle)
    feasible = [t for t in trials if t.metrics.get_last_value("cost") <= 3.0]
    best = oracle.get_best_trials(1)[0]
    assert best.trial_id == max(feasible, key=lambda t: t.score).trial_id
    assert [t.trial_id for t in oracle.pareto_front()] == [best.trial_id]


def test_a_missing_measured_metric_fails_the_trial_with_a_clear_error(tmp_path):
    oracle = make(EvolutionOracle, max_trials=3, seed=0, max_params=1000)
    assert oracle.measures == ("params",)
    oracle._set_project_dir(str(tmp_path), "p")
    trial = oracle.create_trial("t")
    with pytest.raises(ValueError, match="did not report the measured metric.*params"):
        oracle.update_trial(trial.trial_id, {"accuracy": 1.0, "cost": 1.0})
    oracle.update_trial(trial.trial_id, {"accuracy": 1.0, "cost": 1.0, "params": 1500.0})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    assert oracle.trials[trial.trial_id].metrics.get_last_value(VIOLATION) == pytest.approx(0.5)


def test_a_constraint_that_raises_fails_its_trial_and_names_itself(tmp_path):
    def needs_latency(metrics):
        return metrics["latency_ms"] - 1.0

    oracle = make(
        EvolutionOracle,
        max_trials=4,
        seed=0,
        constraints=[needs_latency],
        max_consecutive_failed_trials=10,
    )
    drive(oracle, evaluate, 4, tmp_path)
    failed = [t for t in oracle.trials.values() if t.status == "FAILED"]
    assert len(failed) == 4
    assert "needs_latency raised KeyError" in failed[0].message


@pytest.mark.parametrize("cls", ORACLES)
def test_resume_is_exact_in_pareto_mode_with_constraints(cls, tmp_path):
    def build():
        return make(cls, max_trials=30, seed=11, constraints=[lambda m: m["cost"] - 5.0])

    uninterrupted = drive(build(), evaluate, 30, tmp_path / "straight")
    first = build()
    before = drive(first, evaluate, 12, tmp_path / "resumed")
    state = first.get_state()
    assert json.loads(json.dumps(state)) == state
    assert state["pareto"] is True and [o["name"] for o in state["objectives"]] == [
        "accuracy",
        "cost",
    ]
    resumed = build()
    resumed._set_project_dir(str(tmp_path / "resumed"), "project")
    resumed.reload()
    after = drive(resumed, evaluate, 18, tmp_path / "resumed")
    assert before + after == uninterrupted


@pytest.mark.parametrize("cls", ORACLES)
def test_concurrent_pareto_trials_never_idle_and_never_duplicate(cls, tmp_path):
    oracle = make(cls, max_trials=30, seed=5)
    proposed = drive(oracle, evaluate, 30, tmp_path, concurrency=3)
    assert len({tuple(sorted(v.items())) for v in proposed}) == 30


@pytest.mark.parametrize("cls", ORACLES)
def test_single_objective_keeps_its_meaning(cls, tmp_path):
    # Without pareto or constraints, a reward is the signed score, selection follows it,
    # and a list of objectives is KerasTuner's sum.
    oracle = make(cls, objective=kt.Objective("cost", "min"), pareto=False, max_trials=15, seed=4)
    drive(oracle, evaluate, 15, tmp_path / "one")
    trials = completed(oracle)
    assert not oracle.ranked
    assert [oracle.reward(t) for t in trials] == [-t.score for t in trials]
    keys = oracle.selection_keys(trials)
    assert min(trials, key=lambda t: keys[t.trial_id]).score == min(t.score for t in trials)
    assert oracle.get_best_trials(1)[0].score == min(t.score for t in trials)

    summed = make(cls, pareto=False, max_trials=5, seed=4)
    drive(summed, evaluate, 5, tmp_path / "sum")
    for trial in completed(summed):
        metrics = evaluate(trial.hyperparameters.values)
        assert trial.score == pytest.approx(metrics["cost"] - metrics["accuracy"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"objective": kt.Objective("accuracy", "max")}, "pareto=True needs a list of two or more"),
        ({"objective": ["accuracy", "mystery"]}, "minimise or maximise the objective 'mystery'"),
        ({"objective": ["latency_ms", "latency_ms"]}, "distinct names"),
        ({"max_params": 0}, "max_params must be a positive integer"),
        ({"max_latency_ms": -1.0}, "max_latency_ms must be in"),
        ({"constraints": lambda m: 0.0}, "constraints must be a list of callables"),
        ({"constraints": [3]}, r"constraints\[0\] must be a callable"),
        ({"measure": ["speed"]}, "unknown metric 'speed'"),
        ({"latency_batch_size": 0}, "latency_batch_size must be a positive integer"),
    ],
)
def test_bad_multi_objective_arguments_get_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(EvolutionOracle, **kwargs)


def test_measured_objectives_are_named_by_their_strings_and_measured():
    oracle = make(
        EvolutionOracle,
        objective=["val_accuracy", "latency_ms"],
        measure=["flops"],
        max_params=10_000,
    )
    assert [(o.name, o.direction) for o in oracle.objectives] == [
        ("val_accuracy", "max"),
        ("latency_ms", "min"),
    ]
    assert oracle.measures == ("params", "flops", "latency_ms")
    plain = make_oracle("evolution", objective="val_loss")
    assert plain.measures == () and not plain.ranked
    with pytest.raises(ValueError, match="Strategy 'random' has no argument 'pareto'"):
        make_oracle("random", objective=OBJECTIVES, pareto=True)


def test_end_proposals_climb_an_additive_model_to_each_end_of_the_front(tmp_path):
    # Twenty random trials, then every proposal aims at an end (end_every=1), the
    # objectives in turn: first the most accurate, then the cheapest. Both objectives
    # rise with each edge's operation (accuracy through a saturating curve, cost
    # exactly), so an additive model of each points past every trial so far.
    from nasplug.oracles import PredictorEvolutionOracle

    oracle = make(PredictorEvolutionOracle, max_trials=22, random_trials=20, end_every=1, seed=2)
    proposed = drive(oracle, evaluate, 22, tmp_path)
    earlier = [evaluate(v) for v in proposed[:20]]
    assert evaluate(proposed[20])["accuracy"] > max(m["accuracy"] for m in earlier)
    assert evaluate(proposed[21])["cost"] < min(m["cost"] for m in earlier)
    # Each is two or more decisions from every trial before it: no child (one decision
    # changed) of any of them could have been it.
    for values in proposed[20:]:
        assert min(sum(v[d] != values[d] for d in DECISIONS) for v in proposed[:20]) >= 2
    ids = [t.trial_id for t in sorted(completed(oracle), key=lambda t: int(t.trial_id))]
    assert oracle.end_trials == {ids[20]: 0, ids[21]: 1}
    state = oracle.get_state()
    assert state["end_trials"] == oracle.end_trials and state["end_turns"] == 2


def test_an_end_is_left_alone_after_end_patience_proposals_that_miss(tmp_path):
    # A cost that no additive model predicts (a fixed pseudo-random number per cell):
    # the cost end's proposals seldom beat the cheapest trial, and after `end_patience`
    # misses in a row it gets no more.
    def scrambled(values):
        metrics = evaluate(values)
        metrics["cost"] = zlib.crc32(json.dumps(values, sort_keys=True).encode()) % 997 / 99.7
        return metrics

    from nasplug.oracles import PredictorEvolutionOracle

    oracle = make(
        PredictorEvolutionOracle,
        max_trials=60,
        random_trials=10,
        end_every=2,
        end_patience=2,
        seed=1,
    )
    drive(oracle, scrambled, 60, tmp_path)
    assert 1 not in oracle.open_ends()
    trials = completed(oracle)
    best, misses = np.inf, 0
    for trial in trials:
        cost = trial.metrics.get_last_value("cost")
        if oracle.end_trials.get(trial.trial_id) == 1:
            assert misses < 2  # no cost-end trial after the end closed
            misses = 0 if cost < best else misses + 1
        best = min(best, cost)
    assert misses == 2


def test_end_proposals_are_off_with_end_every_none_and_checked(tmp_path):
    from nasplug.oracles import PredictorEvolutionOracle

    oracle = make(PredictorEvolutionOracle, max_trials=24, random_trials=20, end_every=None, seed=2)
    drive(oracle, evaluate, 24, tmp_path)
    assert oracle.end_trials == {}
    for bad in ({"end_every": 0}, {"end_patience": 0}, {"end_every": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            make(PredictorEvolutionOracle, **bad)


def test_pareto_acquisition_ranks_by_the_predicted_objectives_under_the_weights(tmp_path):
    # One Gaussian process per objective: weights on accuracy alone rank the most
    # accurate cell first, weights on cost alone the cheapest, whatever the trials were.
    from nasplug.oracles import PredictorEvolutionOracle

    oracle = make(PredictorEvolutionOracle, max_trials=20, seed=4)
    drive(oracle, evaluate, 20, tmp_path)
    cells = [dict.fromkeys(DECISIONS, op) for op in ("none", "conv1", "conv3")]
    oracle._weights = np.array([1.0, 0.0])
    assert np.argmax(oracle.acquisition(cells)) == 2
    oracle._weights = np.array([0.0, 1.0])
    assert np.argmax(oracle.acquisition(cells)) == 0
    oracle._weights = None
    # Predictions near the trials: a tried cell ranks where its own objectives put it.
    tried = [t.hyperparameters.values for t in completed(oracle)]
    scores = oracle.acquisition(tried)
    points = np.array([[-evaluate(v)["accuracy"], evaluate(v)["cost"]] for v in tried])
    ideal = points.min(axis=0)
    expected = -pareto.chebyshev(points, [0.5, 0.5], ideal, points.max(axis=0) - ideal)
    assert np.corrcoef(scores, expected)[0, 1] > 0.9


def test_the_violation_metric_has_one_name_read_without_keras():
    from nasplug.report import load
    from nasplug.sklearn import results

    assert load.VIOLATION is results.VIOLATION is VIOLATION is pareto.VIOLATION
    # The report reads it without loading Keras.
    script = (
        "import sys\n"
        "from nasplug.report.load import VIOLATION\n"
        "assert not {'keras', 'keras_tuner', 'tensorflow'} & set(sys.modules), sys.modules\n"
        "print(VIOLATION)\n"
    )
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == VIOLATION == "constraint_violation"
