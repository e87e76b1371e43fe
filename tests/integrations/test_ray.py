"""`NASSearch`, the Ray Tune searcher, driven through Ray's Searcher API without a cluster.

Ray's own loop calls `suggest`, `on_trial_result` and `on_trial_complete`; these tests
call them the same way, so that every strategy is checked against KerasTuner in seconds.
The searcher under a real `tune.Tuner` on a local cluster is in
integrations/ray/test_tune.py.
"""

import json
import pickle

import keras_tuner as kt
import numpy as np
import pytest

from tests.support.synthetic import cell_score, cell_space, drive

pytest.importorskip("ray.tune")
from ray import tune
from ray.tune.search import Searcher

import nasplug.integrations.ray
from nasplug.integrations.ray import NASSearch, hyperparameters
from nasplug.oracles import make_oracle, registry

# A strategy that scores untrained networks needs a hypermodel, which neither engine has
# (test_a_strategy_scoring_untrained_networks_is_refused).
STRATEGIES = [
    s.name for s in registry.strategies() if s.budget == "max_trials" and not s.scores_candidates
]


@pytest.fixture
def global_numpy_seed():
    # AutoKeras's greedy oracle draws from numpy's global generator.
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def run(searcher, n, score=cell_score, concurrency=1, start=0):
    """Drives a searcher as Ray does, `concurrency` trials at once; returns the configs."""
    configs, running = [], []
    i = start
    while len(configs) < n or running:
        while len(running) < concurrency and len(configs) < n:
            config = searcher.suggest(f"t{i}")
            assert config is not None
            if config == Searcher.FINISHED:
                n = len(configs)
                break
            configs.append(config)
            running.append((f"t{i}", config))
            i += 1
        if not running:
            break
        trial_id, config = running.pop(0)
        searcher.on_trial_result(trial_id, {"score": score(config), "training_iteration": 1})
        searcher.on_trial_complete(trial_id, {"score": score(config), "training_iteration": 1})
    return configs


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_proposes_what_it_does_under_kerastuner(
    strategy, tmp_path, global_numpy_seed
):
    np.random.seed(0)
    oracle = make_oracle(
        strategy,
        objective=kt.Objective("score", "max"),
        hyperparameters=cell_space(),
        seed=3,
        max_trials=20,
    )
    expected = drive(oracle, cell_score, 20, tmp_path)
    np.random.seed(0)
    searcher = NASSearch(
        strategy, space=cell_space(), metric="score", mode="max", seed=3, max_trials=20
    )
    assert run(searcher, 20) == expected
    assert len(searcher.oracle.end_order) == 20


def test_ray_param_space_maps_to_decisions_and_back():
    space = {
        "model": {
            "layers": tune.randint(1, 4),
            "units": tune.qrandint(8, 64, 8),
            "activation": tune.choice(["relu", "tanh"]),
            "extra": tune.choice([None, [1, 2], "x"]),
        },
        "lr": tune.loguniform(1e-4, 1e-1),
        "dropout": tune.quniform(0.0, 0.5, 0.1),
        "momentum": tune.uniform(0.5, 0.99),
        "filters": tune.lograndint(4, 128),
        "epochs": 3,
    }
    searcher = NASSearch("evolution", metric="score", mode="max", seed=0)
    assert searcher.set_search_properties(None, None, space)
    domains = {
        ("model", "layers"): space["model"]["layers"],
        ("model", "units"): space["model"]["units"],
        ("model", "activation"): space["model"]["activation"],
        ("model", "extra"): space["model"]["extra"],
        ("lr",): space["lr"],
        ("dropout",): space["dropout"],
        ("momentum",): space["momentum"],
        ("filters",): space["filters"],
    }
    seen_extra = []
    for i in range(30):
        config = searcher.suggest(str(i))
        assert "epochs" not in config  # constants are Ray's
        for path, domain in domains.items():
            value = config
            for key in path:
                value = value[key]
            assert domain.is_valid(value), (path, value)
        assert config["model"]["layers"] in (1, 2, 3)  # Ray's randint excludes 4
        assert config["model"]["units"] % 8 == 0
        assert abs(config["dropout"] * 10 - round(config["dropout"] * 10)) < 1e-9
        seen_extra.append(config["model"]["extra"])
        searcher.on_trial_complete(str(i), {"score": float(config["model"]["layers"])})
    assert [1, 2] in seen_extra and None in seen_extra


@pytest.mark.parametrize(
    "domain, message",
    [
        (tune.grid_search([1, 2]), "grid_search"),
        (tune.sample_from(lambda _: 1), "sample_from"),
        (tune.randn(0, 1), "randn"),
    ],
)
def test_domains_without_a_decision_are_refused(domain, message):
    with pytest.raises(ValueError, match=message):
        NASSearch("evolution", space={"x": domain}, metric="score", mode="max")


def test_kerastuner_space_and_hypermodel_give_flat_values():
    def build(hp):
        hp.Int("layers", 1, 2)
        for i in range(2):
            with hp.conditional_scope("layers", list(range(i + 1, 3))):
                hp.Choice(f"units_{i}", [8, 16])
        return None

    searcher = NASSearch("random", space=build, metric="score", mode="max", seed=1)
    configs = run(searcher, 6, score=lambda c: float(c["layers"]))
    assert {"layers", "units_0"} <= set(configs[0])
    assert any("units_1" in c for c in configs)
    assert all(("units_1" in c) == (c["layers"] == 2) for c in configs)
    hp = hyperparameters(configs[0])
    assert hp.Int("layers", 1, 2) == configs[0]["layers"]


def test_points_to_evaluate_come_first():
    first = {"depth": 2, "width": 64}
    searcher = NASSearch(
        "evolution",
        space=cell_space(),
        metric="score",
        mode="max",
        seed=0,
        points_to_evaluate=[first],
    )
    configs = run(searcher, 3)
    assert configs[0]["depth"] == 2 and configs[0]["width"] == 64
    assert {"cell1_a", "cell1_b"} <= set(configs[0])  # active decisions get defaults


def test_multi_objective_needs_pareto_and_uses_the_front():
    with pytest.raises(ValueError, match="pareto=True"):
        NASSearch("evolution", metric=["score", "width"], mode=["max", "min"])
    with pytest.raises(ValueError, match="no Pareto mode"):
        NASSearch(
            "bayesian",
            space=cell_space(),
            metric=["score", "width"],
            mode=["max", "min"],
            pareto=True,
        ).suggest("0")
    searcher = NASSearch(
        "evolution",
        space=cell_space(),
        metric=["score", "width"],
        mode=["max", "min"],
        pareto=True,
        seed=0,
        population_size=6,
    )
    configs = []
    for i in range(24):
        config = searcher.suggest(str(i))
        configs.append(config)
        result = {"score": cell_score(config), "width": float(config["width"])}
        searcher.on_trial_complete(str(i), result)
    oracle = searcher.oracle
    assert oracle.pareto
    front = oracle.pareto_front()
    points = [(cell_score(c), c["width"]) for c in configs]
    for trial in front:
        mine = (trial.metrics.get_last_value("score"), trial.metrics.get_last_value("width"))
        assert not any(p[0] >= mine[0] and p[1] <= mine[1] and p != mine for p in points)


def test_save_and_restore_continue_exactly(tmp_path):
    def searcher():
        return NASSearch(
            "qlearning", space=cell_space(), metric="score", mode="max", seed=5, max_trials=24
        )

    straight = run(searcher(), 24)

    first = searcher()
    configs = run(first, 10)
    # One more trial is running when the experiment is saved.
    running = first.suggest("t10")
    first.save(str(tmp_path / "searcher.json"))
    json.loads((tmp_path / "searcher.json").read_text())

    again = searcher()
    again.restore(str(tmp_path / "searcher.json"))
    again.on_trial_complete("t10", {"score": cell_score(running)})
    rest = run(again, 13, start=11)
    assert configs + [running] + rest == straight

    # Ray pickles the searcher with its experiment; that copy goes on the same way.
    copy = pickle.loads(pickle.dumps(again))
    assert copy.suggest("x") == again.suggest("x")


def test_errored_trials_fail_and_a_rerun_counts(tmp_path):
    searcher = NASSearch("evolution", space=cell_space(), metric="score", mode="max", seed=0)
    config = searcher.suggest("a")
    searcher.on_trial_complete("a", error=True)
    oracle = searcher.oracle
    assert oracle.trials[oracle.end_order[-1]].status == "FAILED"
    # Tuner.restore(restart_errored=True) runs it again under its id.
    searcher.on_trial_result("a", {"score": cell_score(config), "training_iteration": 1})
    searcher.on_trial_complete("a", {"score": cell_score(config), "training_iteration": 1})
    last = oracle.trials[oracle.end_order[-1]]
    assert last.status == "COMPLETED" and last.hyperparameters.values == config
    # A trial that never reports the metric ends failed, with a message naming it.
    searcher.suggest("b")
    searcher.on_trial_complete("b", {"loss": 1.0})
    assert "score" in oracle.trials[oracle.end_order[-1]].message


def test_bad_arguments_are_refused_with_one_clear_error():
    with pytest.raises(ValueError, match="Unknown strategy"):
        NASSearch("nope")
    with pytest.raises(ValueError, match="has no argument 'population'"):
        NASSearch("evolution", population=3)
    with pytest.raises(ValueError, match="set by the front end"):
        NASSearch("evolution", objective="score")
    with pytest.raises(ValueError, match="needs the metric"):
        NASSearch("evolution", space=cell_space()).suggest("0")
    with pytest.raises(ValueError, match="no search space"):
        NASSearch("evolution", metric="score", mode="max").suggest("0")


def test_public_names_are_pinned():
    assert sorted(nasplug.integrations.ray.__all__) == [
        "NASSearch",
        "RayBackend",
        "hyperparameters",
        "search_space",
    ]


def test_a_strategy_scoring_untrained_networks_is_refused():
    scoring = [s.name for s in registry.strategies() if s.scores_candidates]
    assert scoring
    for strategy in scoring:
        with pytest.raises(ValueError, match=f"Strategy '{strategy}' scores untrained"):
            NASSearch(strategy)
    with pytest.raises(ValueError, match="proxy_warm_start scores untrained"):
        NASSearch("evolution", proxy_warm_start=8)
