"""Multi-fidelity screening without training: the schedule, the oracle's decisions, resume.

A "network" here is scored by a known function of its values and of the epochs it was
trained for, so every decision of the screening can be checked exactly.
"""

import json
import os
import subprocess
import sys

import keras_tuner as kt
import numpy as np
import pytest

from nasplug import screening
from nasplug.oracles import make_oracle
from nasplug.oracles.evolution import default_population_size
from nasplug.screening import CONTINUES, EPOCHS, INITIAL_EPOCH, Screening, ScreeningOracle
from tests.support.synthetic import cell_score, cell_space


def learning_curve(values):
    """Final quality `cell_score`, approached with the epochs trained (`tuner/epochs`)."""
    epochs = values[EPOCHS]
    return cell_score(values) * (1 - 0.5 / epochs)


def drive(oracle, directory, trials=None, stop_after=None):
    """Runs the screened search to its end (or `stop_after` trials); returns the trials."""
    oracle.verbose = 0
    oracle._set_project_dir(str(directory), "project")
    created = []
    while stop_after is None or len(created) < stop_after:
        trial = oracle.create_trial("tuner0")
        assert trial.status != "IDLE"
        if trial.status == "STOPPED":
            break
        created.append(trial)
        oracle.update_trial(trial.trial_id, {"score": learning_curve(trial.hyperparameters.values)})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return created


def screened(strategy="evolution", max_trials=4, max_epochs=20, seed=0, **kwargs):
    return screening.make_oracle(
        strategy,
        Screening(max_epochs=max_epochs, **kwargs),
        objective=kt.Objective("score", "max"),
        hyperparameters=cell_space(),
        max_trials=max_trials,
        seed=seed,
    )


@pytest.mark.parametrize(
    "max_epochs, rungs",
    [(1, (1,)), (2, (1, 2)), (3, (1, 3)), (9, (1, 3, 9)), (20, (2, 7, 20)), (50, (6, 17, 50))],
)
def test_rungs_are_about_a_factor_apart_up_to_full_training(max_epochs, rungs):
    assert Screening(max_epochs=max_epochs).rungs == rungs


def test_min_epochs_and_factor_shape_the_rungs():
    assert Screening(max_epochs=20, min_epochs=5).rungs == (7, 20)
    assert Screening(max_epochs=20, factor=2).rungs == (5, 10, 20)
    assert Screening(max_epochs=27, min_epochs=1).rungs == (1, 3, 9, 27)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"factor": 1}, "factor must be an integer >= 2"),
        ({"min_epochs": 0}, "min_epochs must be a positive integer"),
        ({"max_epochs": 2.5}, "max_epochs must be a positive integer"),
        ({"min_epochs": 30, "max_epochs": 20}, "min_epochs \\(30\\) is more than max_epochs"),
    ],
)
def test_bad_screening_settings_are_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Screening(**kwargs)


def test_screening_spends_its_epoch_budget_on_more_candidates_than_full_trials(tmp_path):
    oracle = screened(max_trials=4)
    trials = drive(oracle, tmp_path)
    epochs = [
        t.hyperparameters.values[EPOCHS] - t.hyperparameters.values[INITIAL_EPOCH] for t in trials
    ]
    # Never over the budget of 4 full trials, and at most one rung's worth under it.
    assert 80 - 13 < sum(epochs) <= 80
    first_rung = [t for t in trials if t.hyperparameters.values[EPOCHS] == 2]
    assert len(first_rung) > 4 * 2
    # Every candidate is new to the strategy, and the strategy saw only candidates.
    candidates = [json.dumps(screening._own_values(t), sort_keys=True) for t in first_rung]
    assert len(set(candidates)) == len(candidates)
    assert len(oracle.strategy.trials) == len(first_rung)
    assert any(t.hyperparameters.values[EPOCHS] == 20 for t in trials)


def test_continued_networks_are_the_top_third_of_their_rung_when_continued(tmp_path):
    oracle = screened(max_trials=6)
    trials = drive(oracle, tmp_path)
    by_id = {t.trial_id: t for t in trials}
    scores = {t.trial_id: learning_curve(t.hyperparameters.values) for t in trials}
    finishing_from = None
    budget = 6 * 20
    spent = 0
    for position, trial in enumerate(trials):
        values = trial.hyperparameters.values
        if budget - spent < 20 and finishing_from is None:
            finishing_from = position
        spent += values[EPOCHS] - values[INITIAL_EPOCH]
        parent = values.get(CONTINUES)
        if parent is None:
            assert values[INITIAL_EPOCH] == 0 and values[EPOCHS] == 2
            continue
        parent_values = by_id[parent].hyperparameters.values
        assert screening._own_values(by_id[parent]) == screening._own_values(trial)
        assert values[INITIAL_EPOCH] == parent_values[EPOCHS]
        if finishing_from is not None:
            continue
        # ASHA's rule: among the networks scored at the parent's rung before this trial
        # started, the parent is in the top third.
        rung = [
            t.trial_id
            for t in trials[:position]
            if t.hyperparameters.values[EPOCHS] == parent_values[EPOCHS]
        ]
        ranked = sorted(rung, key=lambda i: -scores[i])
        assert parent in ranked[: len(ranked) // 3]
    # Each network continues once at most.
    parents = [t.hyperparameters.values.get(CONTINUES) for t in trials]
    parents = [p for p in parents if p is not None]
    assert len(parents) == len(set(parents))


def test_the_best_trial_is_the_best_of_the_longest_trained_networks(tmp_path):
    oracle = screened(max_trials=4)
    trials = drive(oracle, tmp_path)
    full = [t for t in trials if t.hyperparameters.values[EPOCHS] == 20]
    best = oracle.get_best_trials(1)[0]
    assert best.hyperparameters.values[EPOCHS] == 20
    assert best.score == max(t.score for t in full)
    ranked = oracle.get_best_trials(len(trials))
    # A network appears once, by its longest-trained trial.
    continued = {t.hyperparameters.values.get(CONTINUES) for t in trials}
    assert not {t.trial_id for t in ranked if t.status == "COMPLETED"} & continued


def test_the_strategy_learns_from_first_rung_scores_only(tmp_path):
    oracle = screened("reinforce", max_trials=3)
    trials = drive(oracle, tmp_path)
    inner = oracle.strategy
    first = {
        json.dumps(screening._own_values(t), sort_keys=True): t.score
        for t in trials
        if CONTINUES not in t.hyperparameters.values
    }
    learned = {
        json.dumps(dict(t.hyperparameters.values), sort_keys=True): t.score
        for t in inner.trials.values()
    }
    assert learned == pytest.approx(first)
    assert all(
        not k.startswith("tuner/") for t in inner.trials.values() for k in t.hyperparameters.values
    )
    assert inner._observed >= len(inner.trials) - 1


# AutoKeras's greedy oracle draws from the global NumPy generator: not reproducible alone.
@pytest.mark.parametrize("strategy", ["evolution", "reinforce", "qlearning", "predictor", "random"])
def test_a_resumed_screened_search_makes_the_same_decisions(strategy, tmp_path):
    straight = [t.hyperparameters.values for t in drive(screened(strategy, seed=3), tmp_path / "a")]
    first = drive(screened(strategy, seed=3), tmp_path / "b", stop_after=9)
    resumed = screened(strategy, seed=3)
    resumed._set_project_dir(str(tmp_path / "b"), "project")
    resumed.reload()
    rest = drive(resumed, tmp_path / "b")
    assert [t.hyperparameters.values for t in first + rest] == straight


def test_the_strategy_is_built_for_the_candidates_it_will_propose():
    oracle = screened("evolution", max_trials=10)
    assert isinstance(oracle, ScreeningOracle)
    assert oracle.budget_trials == 10
    # 39 candidates for 10 trials of 20 epochs: the population evolution's defaults give
    # 39 trials (10), not 10 trials (5).
    assert Screening(max_epochs=20).candidates(10) == 39
    assert oracle.strategy.population_size == default_population_size(39) == 10
    assert oracle.strategy.max_trials is None


def test_screening_a_strategy_that_schedules_epochs_is_one_clear_error():
    with pytest.raises(ValueError, match="'hyperband' schedules the epochs"):
        screening.make_oracle("hyperband", Screening(max_epochs=9), max_epochs=9)


def test_a_resumed_search_with_other_epochs_is_refused(tmp_path):
    oracle = screened(max_epochs=None)
    oracle.set_max_epochs(20)
    drive(oracle, tmp_path, stop_after=3)
    resumed = screened(max_epochs=None)
    resumed._set_project_dir(str(tmp_path), "project")
    resumed.reload()
    with pytest.raises(ValueError, match="screened up to 20 epochs, not 10"):
        resumed.set_max_epochs(10)
    resumed.set_max_epochs(20)


def test_without_screening_make_oracle_is_the_registry_s():
    oracle = screening.make_oracle("evolution", None, population_size=4)
    assert type(oracle) is type(make_oracle("evolution")) and oracle.population_size == 4


def test_one_make_oracle_screens_through_the_registry():
    import nasplug.oracles.screening as home

    assert screening.make_oracle is make_oracle
    assert (
        screening.Screening is home.Screening and screening.ScreeningOracle is home.ScreeningOracle
    )
    oracle = make_oracle(
        "qlearning",
        screening=True,
        objective=kt.Objective("score", "max"),
        hyperparameters=cell_space(),
        max_trials=3,
    )
    assert isinstance(oracle, ScreeningOracle) and oracle.strategy_name == "qlearning (screened)"
    with pytest.raises(ValueError, match="screening must be True, False, None or a nasplug"):
        make_oracle("evolution", screening="yes")


def test_numpy_integers_make_a_screening_of_python_integers():
    given = Screening(factor=np.int64(2), max_epochs=np.int32(8))
    assert given == Screening(factor=2, max_epochs=8)
    assert type(given.factor) is int and type(given.max_epochs) is int
    assert json.dumps(given.__dict__)


@pytest.mark.slow
def test_screening_and_budget_are_reached_from_nasplug_in_a_fresh_interpreter():
    script = (
        "import sys, nasplug\n"
        "assert 'keras' not in sys.modules\n"
        "from nasplug.oracles.screening import Screening\n"
        "assert nasplug.Screening is Screening is nasplug.screening.Screening\n"
        "assert nasplug.TimeBudget is nasplug.budget.TimeBudget\n"
        "assert {'Screening', 'TimeBudget'} <= set(dir(nasplug))\n"
        "print('ok')\n"
    )
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
