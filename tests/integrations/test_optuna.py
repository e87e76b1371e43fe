"""`NASSampler`, the Optuna sampler, on real Optuna studies (in memory and SQLite).

Several processes sharing one SQLite study are in integrations/optuna/test_storage.py.
"""

import keras_tuner as kt
import numpy as np
import pytest

from tests.support.synthetic import OPS, cell_score, cell_space, drive

optuna = pytest.importorskip("optuna")

import nasplug.integrations.optuna
from nasplug.integrations.optuna import PROPOSAL_KEY, NASSampler, suggest_hyperparameters
from nasplug.oracles import make_oracle, registry
from nasplug.space import SearchSpace

# A strategy that scores untrained networks needs a hypermodel, which neither engine has
# (test_a_strategy_scoring_untrained_networks_is_refused).
STRATEGIES = [
    s.name for s in registry.strategies() if s.budget == "max_trials" and not s.scores_candidates
]


@pytest.fixture(autouse=True)
def quiet():
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    yield
    optuna.logging.set_verbosity(verbosity)


@pytest.fixture
def global_numpy_seed():
    # AutoKeras's greedy oracle draws from numpy's global generator.
    state = np.random.get_state()
    yield
    np.random.set_state(state)


def define_by_run(trial):
    """The synthetic cell objective written as an Optuna user writes it."""
    values = {"depth": trial.suggest_int("depth", 1, 3)}
    for cell in range(values["depth"]):
        values[f"cell{cell}_a"] = trial.suggest_categorical(f"cell{cell}_a", OPS)
        values[f"cell{cell}_b"] = trial.suggest_categorical(f"cell{cell}_b", OPS)
    values["width"] = trial.suggest_categorical("width", [16, 32, 64, 128])
    values["lr"] = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return cell_score(values)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_proposes_what_it_does_under_kerastuner(
    strategy, tmp_path, global_numpy_seed
):
    np.random.seed(0)
    oracle = make_oracle(
        strategy,
        objective=kt.Objective("value", "max"),
        hyperparameters=cell_space(),
        seed=3,
        max_trials=20,
    )
    expected = drive(oracle, cell_score, 20, tmp_path, metric="value")
    np.random.seed(0)
    space = cell_space()
    sampler = NASSampler(strategy, hyperparameters=space, seed=3, max_trials=20)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: cell_score(suggest_hyperparameters(t, space).values), n_trials=20)
    assert [t.params for t in study.trials] == expected


def test_define_by_run_space_is_learned_with_its_conditions():
    sampler = NASSampler("evolution", seed=0, population_size=8, sample_size=3)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(define_by_run, n_trials=40)
    learned = SearchSpace(sampler.oracle.hyperparameters)
    assert [hp.name for hp in learned.decisions] == [hp.name for hp in cell_space().space]
    # The same decisions are active for any values: the conditions were found.
    reference = SearchSpace(cell_space())
    rng = np.random.default_rng(0)
    for _ in range(50):
        values = reference.random_values(rng)
        full = {**{hp.name: reference.sample(hp, rng) for hp in reference.decisions}, **values}
        assert set(learned.active(full)) == set(values)
    # Once the space is known, every trial is the strategy's and none repeats another.
    proposed = [t for t in study.trials if PROPOSAL_KEY in t.system_attrs]
    assert len(proposed) == 39
    keys = [tuple(sorted(t.params.items())) for t in proposed]
    assert len(set(keys)) == len(keys)
    for trial in proposed:
        proposal = trial.system_attrs[PROPOSAL_KEY]
        assert {k: v for k, v in trial.params.items() if k in proposal}.items() <= proposal.items()
    # Early on, a decision not seen yet is drawn at random, and a proposal may hold
    # decisions the objective does not ask for (conditions not found yet); then a proposal
    # is exactly what the objective asks.
    for trial in proposed[-15:]:
        assert trial.params == trial.system_attrs[PROPOSAL_KEY]


def test_define_by_run_search_finds_as_good_trials_as_kerastuner(tmp_path):
    """Same quality within noise over seeds: the learned space costs the strategy nothing."""
    ours, theirs = [], []
    for seed in range(6):
        oracle = make_oracle(
            "evolution",
            objective=kt.Objective("value", "max"),
            hyperparameters=cell_space(),
            seed=seed,
            population_size=8,
            sample_size=3,
        )
        values = drive(oracle, cell_score, 40, tmp_path / str(seed), metric="value")
        theirs.append(max(cell_score(v) for v in values))
        sampler = NASSampler("evolution", seed=seed, population_size=8, sample_size=3)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(define_by_run, n_trials=40)
        ours.append(study.best_value)
    spread = np.sqrt((np.var(ours, ddof=1) + np.var(theirs, ddof=1)) / len(ours))
    assert np.mean(ours) >= np.mean(theirs) - 3 * spread - 1e-9


def test_multi_objective_study_searches_the_pareto_front():
    sampler = NASSampler("evolution", seed=1, population_size=6)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.set_metric_names(["score", "width"])

    def objective(trial):
        score = define_by_run(trial)
        return score, float(trial.params["width"])

    study.optimize(objective, n_trials=25)
    oracle = sampler.oracle
    assert oracle.pareto
    assert [o.name for o in oracle.objectives] == ["score", "width"]
    optuna_front = sorted(tuple(t.values) for t in study.best_trials)
    # The sampler replays the finished trials when it proposes; the last one is pending.
    finished = study.trials[:-1]
    front = [
        tuple(t.values)
        for t in finished
        if not any(
            o.values[0] >= t.values[0] and o.values[1] <= t.values[1] and o.values != t.values
            for o in finished
        )
    ]
    ours = sorted(
        (t.metrics.get_last_value("score"), t.metrics.get_last_value("width"))
        for t in oracle.pareto_front()
    )
    assert ours == sorted(set(front))
    assert set(ours) <= set(optuna_front) | {tuple(study.trials[-1].values)}


def test_failed_and_pruned_trials_reach_the_strategy():
    sampler = NASSampler("reinforce", seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial):
        score = define_by_run(trial)
        if trial.number % 4 == 1:
            raise ValueError("this trial breaks")
        if trial.number % 4 == 2:
            trial.report(score - 1.0, step=1)
            trial.report(score - 0.5, step=2)
            raise optuna.TrialPruned()
        return score

    study.optimize(objective, n_trials=12, catch=(ValueError,))
    sampler.infer_relative_search_space(study, None)  # replay the last trial too
    oracle = sampler.oracle
    statuses = [oracle.trials[i].status for i in oracle.end_order]
    assert statuses.count("FAILED") == 3
    pruned = [oracle.trials[i] for i in oracle.end_order][2::4]
    for trial, frozen in zip(pruned, study.trials[2::4]):
        assert trial.status == "COMPLETED"
        assert trial.score == pytest.approx(frozen.intermediate_values[2])
        assert trial.hyperparameters.values == frozen.params


def test_a_fresh_sampler_goes_on_from_the_storage(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = NASSampler("qlearning", seed=0)
    study = optuna.create_study(
        storage=storage, study_name="s", direction="maximize", sampler=first
    )
    study.optimize(define_by_run, n_trials=12)
    # Another process (or this one, restarted): only the storage is shared.
    second = NASSampler("qlearning", seed=1)
    again = optuna.load_study(storage=storage, study_name="s", sampler=second)
    again.optimize(define_by_run, n_trials=8)
    oracle = second.oracle
    assert len(oracle.end_order) == 19
    replayed = [oracle.trials[i].hyperparameters.values for i in oracle.end_order]
    assert replayed == [t.params for t in again.trials[:19]]
    keys = [tuple(sorted(t.params.items())) for t in again.trials]
    assert len(set(keys[1:])) == len(keys) - 1


def test_hypermodel_space_through_suggest_hyperparameters():
    def build(hp):
        hp.Int("layers", 1, 2)
        for i in range(2):
            with hp.conditional_scope("layers", list(range(i + 1, 3))):
                hp.Choice(f"units_{i}", [8, 16])
        hp.Float("lr", 1e-3, 1e-1, sampling="log")
        hp.Boolean("batchnorm")

    from nasplug.integrations.optuna import search_space

    space = search_space(build)
    sampler = NASSampler("evolution", hyperparameters=build, seed=0, population_size=4)
    study = optuna.create_study(sampler=sampler)
    study.optimize(
        lambda t: suggest_hyperparameters(t, space).values["lr"] * (1 + t.params["layers"]),
        n_trials=10,
    )
    for trial in study.trials:
        assert ("units_1" in trial.params) == (trial.params["layers"] == 2)
        assert isinstance(trial.params["batchnorm"], bool)


def test_bad_arguments_are_refused_with_one_clear_error():
    with pytest.raises(ValueError, match="Unknown strategy"):
        NASSampler("nope")
    with pytest.raises(ValueError, match="HyperbandPruner"):
        NASSampler("hyperband")
    with pytest.raises(ValueError, match="has no argument 'population'"):
        NASSampler("evolution", population=3)
    with pytest.raises(ValueError, match="seed must be an integer"):
        NASSampler("evolution", seed="0")
    sampler = NASSampler("bayesian", seed=0)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    with pytest.raises(ValueError, match="no Pareto mode"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)


def test_a_strategy_scoring_untrained_networks_is_refused():
    scoring = [s.name for s in registry.strategies() if s.scores_candidates]
    assert scoring
    for strategy in scoring:
        with pytest.raises(ValueError, match=f"Strategy '{strategy}' scores untrained"):
            NASSampler(strategy)
    with pytest.raises(ValueError, match="proxy_warm_start scores untrained"):
        NASSampler("evolution", proxy_warm_start=8)


def test_public_names_are_pinned():
    assert sorted(nasplug.integrations.optuna.__all__) == [
        "NASSampler",
        "search_space",
        "suggest_hyperparameters",
    ]
