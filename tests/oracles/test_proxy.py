"""The proxy search and the proxy warm start: synthetic scorers, then real networks."""

import json

import keras
import keras_tuner as kt
import numpy as np
import pytest

import nasplug
from nasplug import proxies
from nasplug.oracles import EvolutionOracle, ProxyOracle, QLearningOracle, registry
from nasplug.space import SearchSpace
from tests.support.synthetic import cell_score, cell_space, drive, hashed_proxy, informative_proxy

MAX = kt.Objective("score", "max")


class Counting:
    """A scorer that counts its calls."""

    def __init__(self, scorer):
        self.scorer = scorer
        self.calls = 0

    def __call__(self, hyperparameters, proxy):
        self.calls += 1
        return self.scorer(hyperparameters, proxy)


def make(cls, scorer=informative_proxy, **kwargs):
    kwargs.setdefault("objective", MAX)
    kwargs.setdefault("hyperparameters", cell_space())
    oracle = cls(**kwargs)
    proxies.give_scorer(oracle, scorer)
    return oracle


def small_space():
    hp = kt.HyperParameters()
    hp.Choice("cell0_a", ["none", "skip", "conv1x1", "conv3x3"])
    hp.Choice("width", [16, 32, 64])
    return hp


def small_score(values):
    return cell_score({"depth": 1, "cell0_b": "skip", "lr": 0.01, **values})


def test_proxy_search_with_an_informative_proxy_trains_the_best_cell_first(tmp_path):
    oracle = make(
        ProxyOracle,
        lambda hp, proxy: small_score(hp.values),
        max_trials=3,
        candidates=12,
        hyperparameters=small_space(),
        seed=4,
    )
    proposed = drive(oracle, small_score, 3, tmp_path)
    every = list(SearchSpace(small_space()).enumerate())
    best = max(every, key=small_score)
    assert proposed[0] == best
    # Best first, by the proxy, among all twelve cells it scored.
    assert [small_score(v) for v in proposed] == sorted(map(small_score, every), reverse=True)[:3]
    assert len(oracle.scored) == 12


def test_proxy_search_scores_a_new_round_when_its_candidates_are_tried(tmp_path):
    scorer = Counting(hashed_proxy)
    oracle = make(ProxyOracle, scorer, max_trials=7, candidates=3, seed=0)
    proposed = drive(oracle, cell_score, 7, tmp_path)
    assert len({json.dumps(v, sort_keys=True) for v in proposed}) == 7
    assert scorer.calls == 9 and len(oracle.scored) == 9
    # Each round's candidates are tried best first.
    assert [v for v, _ in oracle.scored[:7]] == proposed
    for start in (0, 3, 6):
        scores = [s for _, s in oracle.scored[start : start + 3]]
        assert scores == sorted(scores, reverse=True)


def test_proxy_warm_start_trains_the_best_of_n_first_then_evolves(tmp_path):
    first = {"depth": 1, "cell0_a": "none", "cell0_b": "none", "width": 16, "lr": 0.1}
    oracle = make(
        EvolutionOracle,
        max_trials=12,
        population_size=4,
        proxy_warm_start=30,
        initial_hps=[first],
        seed=2,
    )
    proposed = drive(oracle, cell_score, 12, tmp_path)
    assert len(oracle.proxy_scores) == 30
    best = [values for values, _ in oracle.proxy_scores[:4]]
    # The user's starting point first, then the strategy's random phase (its
    # population) from the proxy's best.
    assert proposed[0] == SearchSpace(cell_space()).active(first)
    assert proposed[1:5] == best
    drawn_scores = [score for _, score in oracle.proxy_scores]
    assert drawn_scores == sorted(drawn_scores, reverse=True)
    # The evolution that follows breeds from that population.
    assert set(oracle.parents.values()) <= {t.trial_id for t in oracle.trials.values()}
    assert len(oracle.parents) == 7


def test_proxy_warm_start_takes_a_proxy_and_a_count(tmp_path):
    scorer = Counting(informative_proxy)
    oracle = make(
        QLearningOracle,
        scorer,
        max_trials=5,
        proxy_warm_start={"candidates": 8, "proxy": "synflow", "trials": 2},
        seed=0,
    )
    proposed = drive(oracle, cell_score, 5, tmp_path)
    assert scorer.calls == 8
    assert proposed[:2] == [v for v, _ in oracle.proxy_scores[:2]]
    assert oracle.get_state()["proxy_warm_start"] == {
        "candidates": 8,
        "proxy": "synflow",
        "trials": 2,
    }


@pytest.mark.parametrize(
    "strategy, kwargs, stop",
    [
        ("evolution", {"population_size": 5, "proxy_warm_start": 20}, 3),
        ("evolution", {"population_size": 5, "proxy_warm_start": 20}, 8),
        ("predictor", {"proxy_warm_start": {"candidates": 15, "trials": 4}}, 2),
        ("proxy", {"candidates": 6}, 8),
    ],
)
def test_a_resumed_search_scores_nothing_again_and_continues_exactly(
    strategy, kwargs, stop, tmp_path
):
    cls = registry.get(strategy).oracle_class()

    def run(directory, trials):
        oracle = make(cls, Counting(informative_proxy), max_trials=20, seed=7, **kwargs)
        return oracle, drive(oracle, cell_score, trials, directory)

    _, uninterrupted = run(tmp_path / "straight", 20)
    first, before = run(tmp_path / "resumed", stop)
    state = first.get_state()
    assert json.loads(json.dumps(state)) == state
    scorer = Counting(informative_proxy)
    resumed = make(cls, scorer, max_trials=20, seed=999, **kwargs)
    resumed._set_project_dir(str(tmp_path / "resumed"), "project")
    resumed.reload()
    calls_before = first.candidate_scorer.calls
    after = drive(resumed, cell_score, 20 - stop, tmp_path / "resumed")
    assert before + after == uninterrupted
    if strategy != "proxy" or stop < 6:
        assert scorer.calls == 0 and calls_before > 0


def test_scoring_without_a_scorer_or_with_a_broken_one_says_what_to_do(tmp_path):
    oracle = EvolutionOracle(objective=MAX, hyperparameters=cell_space(), proxy_warm_start=5)
    oracle._set_project_dir(str(tmp_path), "project")
    with pytest.raises(RuntimeError, match="needs a scorer.*give_scorer"):
        oracle.create_trial("t")

    def broken(hyperparameters, proxy):
        raise ValueError("no network here")

    oracle = make(ProxyOracle, broken, max_trials=3)
    oracle._set_project_dir(str(tmp_path / "b"), "project")
    with pytest.raises(RuntimeError, match="failed 3 times in a row.*no network here"):
        oracle.create_trial("t")


@pytest.mark.parametrize(
    "value, message",
    [
        (0, "candidates must be a positive integer"),
        ("naswot", "must be None, a number of candidates"),
        ({"candidates": 5, "proxy": "magic"}, "Unknown proxy 'magic'"),
        ({"candidates": 5, "count": 2}, "no field 'count'"),
        ({"candidates": 5, "trials": 0}, "trials must be a positive integer"),
    ],
)
def test_bad_warm_starts_get_one_clear_error(value, message):
    with pytest.raises(ValueError, match=message):
        EvolutionOracle(objective=MAX, proxy_warm_start=value)


def test_every_nasplug_strategy_takes_a_warm_start_through_the_registry():
    for record in registry.strategies():
        if record.is_nasplug:
            record.check_arguments({"proxy_warm_start": 10})
            assert "proxy_warm_start" not in [p.name for p in record.own_parameters()]
    assert [p.name for p in registry.get("proxy").own_parameters()] == ["proxy", "candidates"]


# -- real networks ---------------------------------------------------------------------

X = np.random.default_rng(0).normal(size=(48, 6)).astype("float32")
Y = (X[:, 0] > 0).astype("int64")


def build(hp):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(hp.Choice("units", [1, 4, 32]), activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_proxy_search_tuner_trains_the_network_naswot_prefers(tmp_path):
    tuner = nasplug.ProxySearch(
        build,
        objective="val_accuracy",
        max_trials=1,
        candidates=3,
        seed=0,
        directory=tmp_path,
        project_name="proxy",
    )
    tuner.search(X, Y, validation_split=0.25, epochs=1, verbose=0)
    (trial,) = tuner.oracle.trials.values()
    # More ReLU units tell the samples apart better: NASWOT ranks the widest first.
    assert trial.hyperparameters.values["units"] == 32
    assert [v["units"] for v, _ in tuner.oracle.scored] == [32, 4, 1]
    assert isinstance(tuner.oracle.candidate_scorer, proxies.CandidateScorer)


def test_candidate_scorer_is_seeded_and_leaves_global_randomness_alone():
    hp = kt.HyperParameters()
    hp.Choice("units", [1, 4, 32])
    hp.values["units"] = 4
    state = np.random.get_state()
    scorer = proxies.CandidateScorer(build, X[:16], Y[:16], seed=3)
    first = scorer(hp, "snip")
    assert scorer(hp, "snip") == first and scorer.count == 2
    assert proxies.CandidateScorer(build, X[:16], Y[:16], seed=4)(hp, "snip") != first
    assert np.array_equal(np.random.get_state()[1], state[1])


@pytest.mark.slow
def test_the_estimator_reaches_the_proxy_search_and_the_warm_start(tmp_path):
    import autokeras as ak
    from sklearn.datasets import load_digits

    from nasplug import NASClassifier

    x, y = load_digits(return_X_y=True)
    for strategy, params in (
        ("proxy", {"candidates": 4, "proxy": "grad_norm"}),
        ("evolution", {"proxy_warm_start": {"candidates": 4, "trials": 2}}),
    ):
        clf = NASClassifier(
            strategy=strategy,
            strategy_params=params,
            max_trials=2,
            epochs=1,
            random_state=0,
            directory=str(tmp_path / strategy),
            search_space=ak.DenseBlock(num_layers=1),
            # One held-out part and one refit: what is tested is the scoring.
            cv=None,
            ensemble_size=1,
        )
        clf.fit(x[:150], y[:150])
        assert len(clf.search_results_) == 2
        (saved,) = (tmp_path / strategy).rglob("oracle.json")
        state = json.loads(saved.read_text())
        scored = state["scored"] if strategy == "proxy" else state["proxy_scores"]
        # NASWOT is -inf (None) for a layer of fewer ReLUs than samples: its kernel is
        # singular.
        assert len(scored) == 4 and np.isfinite(scored[0][1])
        assert clf.score(x[150:300], y[150:300]) > 0.1


def test_search_batch_reads_arrays_dicts_and_datasets_but_not_generators():
    import tensorflow as tf

    x, y = proxies.search_batch((X, Y), {}, batch_size=10, seed=1)
    assert x.shape == (10, 6) and len(set(map(tuple, x))) == 10
    rows = [int(np.flatnonzero((X == row).all(axis=1))[0]) for row in x]
    assert np.array_equal(y, Y[rows])
    both, _ = proxies.search_batch((), {"x": {"a": X, "b": X[:, :2]}}, batch_size=5)
    assert both["a"].shape == (5, 6) and np.array_equal(both["a"][:, :2], both["b"])
    dataset = tf.data.Dataset.from_tensor_slices((X, Y)).batch(8)
    x, y = proxies.search_batch((dataset,), {})
    assert np.array_equal(x, X[:8]) and np.array_equal(y, Y[:8])
    assert proxies.search_batch(((row for row in X),), {}) is None
