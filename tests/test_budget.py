"""The time budget is the search's: it works with no display, on any oracle."""

import keras
import keras_tuner
import numpy as np
import pytest

from nasplug.budget import TimeBudget
from nasplug.oracles import make_oracle


def _build(hp):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(hp.Choice("units", [2, 4, 8, 16])),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mse", run_eagerly=True)
    return model


@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_spent_budget_stops_the_running_trial_and_starts_no_other(strategy, tmp_path):
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    oracle = make_oracle(strategy, objective="val_loss", max_trials=5, seed=1)
    tuner = keras_tuner.Tuner(
        oracle=oracle, hypermodel=_build, directory=tmp_path, project_name=strategy
    )
    budget = TimeBudget(1e-3).attach(tuner)
    tuner.search(
        x,
        x[:, :1],
        epochs=50,
        batch_size=4,
        validation_split=0.25,
        verbose=0,
        callbacks=[budget.callback()],
    )
    assert budget.spent and budget.remaining == 0
    assert budget.stopped_trainings == 1
    assert len(tuner.oracle.trials) == 1
    trial = next(iter(tuner.oracle.trials.values()))
    assert len(trial.metrics.get_history("val_loss")) == 1  # stopped in its first epoch of 50


@pytest.mark.slow
def test_unspent_budget_changes_nothing(tmp_path):
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    oracle = make_oracle("evolution", objective="val_loss", max_trials=3, seed=1)
    tuner = keras_tuner.Tuner(
        oracle=oracle, hypermodel=_build, directory=tmp_path, project_name="p"
    )
    budget = TimeBudget(3600).attach(tuner)
    tuner.search(
        x,
        x[:, :1],
        epochs=2,
        batch_size=16,
        validation_split=0.25,
        verbose=0,
        callbacks=[budget.callback()],
    )
    assert not budget.spent and oracle.max_trials == 3 and len(oracle.trials) == 3
    assert budget.stopped_trainings == 0
    assert all(t.status == "COMPLETED" for t in oracle.trials.values())


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), True, "60"])
def test_bad_budget_is_one_clear_error(seconds):
    with pytest.raises(ValueError, match="time_budget must be a positive number of seconds"):
        TimeBudget(seconds)


@pytest.mark.slow
def test_our_tuners_mark_the_trial_the_budget_cut(tmp_path):
    import nasplug
    from nasplug.budget import CUT_BY_BUDGET

    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    tuner = nasplug.EvolutionSearch(
        _build, objective="val_loss", max_trials=3, seed=1, directory=tmp_path, project_name="p"
    )
    budget = TimeBudget(1e-3).attach(tuner)
    tuner.search(
        x,
        x[:, :1],
        epochs=50,
        batch_size=4,
        validation_split=0.25,
        verbose=0,
        callbacks=[budget.callback()],
    )
    [trial] = tuner.oracle.trials.values()
    assert trial.status == "COMPLETED"
    assert trial.metrics.get_last_value(CUT_BY_BUDGET) == 1.0
