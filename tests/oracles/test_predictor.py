"""PredictorEvolutionOracle: evolution whose children a Gaussian process ranks."""

import json
import zlib

import keras
import keras_tuner
import numpy as np
import pytest

from nasplug.oracles.predictor import PredictorEvolutionOracle
from nasplug.tuners import PredictorEvolutionSearch


def _space():
    hp = keras_tuner.HyperParameters()
    for i in range(6):
        hp.Choice(f"op{i}", ["a", "b", "c", "d"])
    return hp


def _objective(values):
    # Every "c" helps, and "c" next to "c" helps more: not additive, as architectures are not.
    ops = [values[f"op{i}"] for i in range(6)]
    score = sum(op == "c" for op in ops) + 0.5 * sum(x == y == "c" for x, y in zip(ops, ops[1:]))
    return float(score - 0.5 * sum(op == "a" for op in ops))


def _oracle(**kwargs):
    args = dict(
        objective=keras_tuner.Objective("score", "max"),
        max_trials=30,
        hyperparameters=_space(),
        seed=1,
        population_size=6,
        sample_size=2,
    )
    args.update(kwargs)
    oracle = (args.pop("cls", PredictorEvolutionOracle))(**args)
    oracle.verbose = 0
    return oracle


def _run(oracle, trials, objective=_objective):
    """Drives an oracle through the KerasTuner trial API; returns the values tried."""
    tried = []
    for _ in range(trials):
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        values = dict(trial.hyperparameters.values)
        tried.append(values)
        oracle.update_trial(trial.trial_id, {"score": objective(values)})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return tried


def test_finds_better_values_than_plain_evolution(tmp_path):
    from nasplug.oracles import EvolutionOracle

    best = {"predictor": [], "evolution": []}
    for seed in range(1, 7):
        for name, cls in (("predictor", PredictorEvolutionOracle), ("evolution", EvolutionOracle)):
            oracle = _oracle(cls=cls, seed=seed)
            oracle._set_project_dir(str(tmp_path), f"{name}{seed}")
            best[name].append(max(_objective(v) for v in _run(oracle, 25)))
    # The optimum is 8.5 (all "c"); 25 of 4096 assignments rarely find it by mutation alone.
    assert np.mean(best["predictor"]) > np.mean(best["evolution"])


def test_acquisition_prefers_what_the_trials_point_to(tmp_path):
    oracle = _oracle(candidates=20)
    oracle._set_project_dir(str(tmp_path), "p")
    _run(oracle, 15)
    good = {f"op{i}": "c" for i in range(6)}
    bad = {f"op{i}": "a" for i in range(6)}
    scores = oracle.acquisition([bad, good])
    assert scores[1] > scores[0]


def test_no_duplicates_and_plain_values(tmp_path):
    oracle = _oracle()
    oracle._set_project_dir(str(tmp_path), "p")
    tried = _run(oracle, 30)
    assert len(tried) == 30
    assert len({json.dumps(v, sort_keys=True) for v in tried}) == 30
    json.dumps(oracle.get_state())


def test_resumes_exactly(tmp_path):
    straight = _oracle()
    straight._set_project_dir(str(tmp_path), "straight")
    expected = _run(straight, 20)

    first = _oracle()
    first._set_project_dir(str(tmp_path), "resumed")
    got = _run(first, 12)
    again = _oracle()
    again._set_project_dir(str(tmp_path), "resumed")
    again.reload()
    got += _run(again, 8)
    assert got == expected


def test_works_on_a_conditional_mixed_space(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Int("layers", 1, 3)
    with hp.conditional_scope("layers", [2, 3]):
        hp.Float("dropout", 0.0, 0.5)
    hp.Boolean("batch_norm")
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    oracle = _oracle(hyperparameters=hp, population_size=4, candidates=10)
    oracle._set_project_dir(str(tmp_path), "p")

    def objective(values):
        return -abs(np.log10(values["lr"]) + 2) + values["layers"] * 0.1

    tried = _run(oracle, 12, objective)
    assert len(tried) == 12
    for values in tried:
        assert 1 <= values["layers"] <= 3 and 1e-4 <= values["lr"] <= 1e-1
        assert ("dropout" in values) == (values["layers"] > 1)


def _rugged(values):
    # Unrelated values for neighbours: local search soon finds nothing better nearby.
    return float(zlib.crc32(json.dumps(values, sort_keys=True).encode()) % 10_000)


def _distance(a, b):
    return sum(a[k] != b[k] for k in a)


@pytest.mark.parametrize("patience", [None, 3])
def test_explores_beyond_the_neighbours_once_stalled(tmp_path, patience):
    far = 0
    for seed in range(1, 5):
        oracle = _oracle(
            seed=seed, patience=patience, explore_after=4, random_trials=4, candidates=10
        )
        oracle._set_project_dir(str(tmp_path), f"p{seed}")
        tried = _run(oracle, 16, _rugged)
        # After the random start, a child of the local search is one decision away from
        # a trial before it; an exploring proposal is usually further.
        nearest = [min(_distance(v, u) for u in tried[:i]) for i, v in enumerate(tried) if i >= 4]
        far += sum(distance > 1 for distance in nearest)
    if patience is None:
        assert far == 0
    else:
        assert far >= 4


@pytest.mark.parametrize(
    "explore_after, expected",
    [
        # The best so far was among the last 3 trials until three trials after the 6.0.
        (2, [False, False, False, False, True, False, False, False, True]),
        (8, [False] * 8 + [True]),
    ],
)
def test_stalled_only_without_recent_improvement(tmp_path, explore_after, expected):
    oracle = _oracle(patience=3, explore_after=explore_after, random_trials=20)
    oracle._set_project_dir(str(tmp_path), "p")
    scores = iter([1.0, 5.0, 2.0, 3.0, 4.0, 6.0, 0.0, 0.0, 0.0])
    stalled = []
    for _ in range(9):
        _run(oracle, 1, lambda values: next(scores))
        stalled.append(oracle.stalled())
    assert stalled == expected


def test_resumes_exactly_while_exploring(tmp_path):
    straight = _oracle(patience=2, explore_after=6, random_trials=4)
    straight._set_project_dir(str(tmp_path), "straight")
    expected, explored = [], 0
    for _ in range(20):
        expected += _run(straight, 1, _rugged)
        explored += straight.stalled()
    assert explored >= 3

    first = _oracle(patience=2, explore_after=6, random_trials=4)
    first._set_project_dir(str(tmp_path), "resumed")
    got = _run(first, 11, _rugged)
    again = _oracle(patience=2, explore_after=6, random_trials=4)
    again._set_project_dir(str(tmp_path), "resumed")
    again.reload()
    assert again.patience == 2
    got += _run(again, 9, _rugged)
    assert got == expected


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"candidates": 0}, "candidates must be a positive integer"),
        ({"exploration": -1.0}, "exploration must be in"),
        ({"noise": 0.0}, "noise must be in"),
        ({"patience": 0}, "patience must be a positive integer"),
        ({"explore_after": 0}, "explore_after must be a positive integer"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _oracle(**kwargs)


@pytest.mark.slow
def test_tuner_searches_a_real_keras_model(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("float32")

    def build(hp):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(hp.Choice("units", [2, 8]), activation="relu"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Choice("lr", [1e-3, 1e-2])),
            loss="binary_crossentropy",
            metrics=["accuracy"],
        )
        return model

    tuner = PredictorEvolutionSearch(
        build,
        objective="val_accuracy",
        max_trials=3,
        population_size=2,
        sample_size=1,
        candidates=5,
        seed=3,
        directory=str(tmp_path),
        project_name="p",
    )
    tuner.search(x, y, validation_split=0.25, epochs=1, verbose=0)
    trials = tuner.oracle.get_best_trials(3)
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    assert isinstance(trials[0].score, float)
