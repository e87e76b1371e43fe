"""`time_budget` bounds the whole `fit`: the search keeps back its refit's seconds, and the
refit trains what fits in the seconds left."""

import time
import types
import warnings

import autokeras as ak
import keras_tuner
import pytest

from nasplug import NASClassifier
from nasplug.budget import TimeBudget, TimeBudgetWarning
from nasplug.sklearn import _budget, _fit_data


def _trial(trial_id, score, epochs=10, **timings):
    """A finished trial; `timings`: its "epoch_seconds", "setup_seconds", "seconds", ..."""
    trial = keras_tuner.engine.trial.Trial(
        keras_tuner.HyperParameters(), trial_id=trial_id, status="COMPLETED"
    )
    timings = timings or dict(epoch_seconds=0.1, setup_seconds=0.5)
    for name, value in dict(score=score, epochs=epochs, **timings).items():
        trial.metrics.update(name, value)
    return trial


@pytest.fixture(scope="module")
def costs(cancer):
    """The refit costs of a search of 150 rows in 3 folds of 100 training rows."""
    X, y = cancer[0][:150], cancer[1][:150]
    estimator = NASClassifier(cv=3, epochs=10, callbacks=[])
    fit_data = _fit_data.prepare(estimator, X, y, None, seed=0)
    return _budget.RefitCosts(fit_data, epochs=10, batch_size=32, default_early_stopping=False)


def test_refit_costs_scale_a_trial_epoch_to_the_refit_steps(costs):
    trial = _trial("0", 0.9)
    # An epoch of 150 rows is 5 batches of 32, a trial's of 100 rows 4.
    assert costs.seconds(trial) == pytest.approx(_budget.MARGIN * (0.5 + 0.1 * 5 / 4 * 10))
    assert costs.seconds(trial, epochs=2) < costs.seconds(trial)
    assert costs.epochs_within(trial, costs.seconds(trial, epochs=4)) == 4
    assert costs.epochs_within(trial, 0.0) == 1
    # A trial of a search saved before trials timed their epochs: its whole training over
    # its useful epochs, and its time outside training, for each fold's network.
    saved = _trial("1", 0.9, seconds=2.0, fit_seconds=1.5)
    expected = _budget.MARGIN * (0.5 / 3 + 1.5 / 3 / 10 * 5 / 4 * 10)
    assert costs.seconds(saved) == pytest.approx(expected)
    assert costs.seconds(_trial("2", 0.9, seconds=2.0)) is None


def test_the_refit_trains_fewer_networks_when_the_seconds_left_cover_only_some(costs):
    best = _trial("0", 0.9)
    one = costs.seconds(best)
    plan = _budget.plan_refit(None, best, 5, False, costs, 100 * one, searched_at_hand=False)
    assert plan.members == [best] * 5 and plan.epochs == [10] * 5
    assert _budget.shrunk(plan, 5, [10] * 5, False, 600) == ""

    plan = _budget.plan_refit(None, best, 5, False, costs, 2.5 * one, searched_at_hand=False)
    assert plan.members == [best] * 2 and plan.epochs == [10] * 2
    assert plan.needed == pytest.approx(5 * one)
    note = _budget.shrunk(plan, 5, [10, 10], False, 60)
    assert note.startswith("time_budget=60 s left ")
    assert "2 of the 5 networks asked for (ensemble_size_=2)" in note


def test_a_refit_that_does_not_fit_keeps_the_searched_network_or_trains_fewer_epochs(costs):
    best = _trial("0", 0.9)
    left = costs.seconds(best, epochs=3)
    plan = _budget.plan_refit(None, best, 1, False, costs, left, searched_at_hand=True)
    assert plan.keep_searched and plan.members == [best] and plan.epochs == []
    assert "best_model_ is the network the search trained" in _budget.shrunk(plan, 1, [], False, 60)

    plan = _budget.plan_refit(None, best, 1, False, costs, left, searched_at_hand=False)
    assert not plan.keep_searched and plan.epochs == [3]
    note = _budget.shrunk(plan, 1, [3], False, 60)
    assert "its first network trained 3 of 10 (refit_epochs_)" in note
    assert "stopped in epoch 3 of 10" in _budget.shrunk(plan, 1, [3], True, 60)


def test_the_search_keeps_back_the_refit_of_its_best_trial_so_far(costs):
    reserve = _budget.search_reserve(costs, size=5, budget_seconds=60)
    oracle = types.SimpleNamespace(trials={})
    # Before a trial ends: the share of five refit epochs of 150 rows in those and a
    # trial's three of 100.
    assert reserve(oracle) == pytest.approx(60 * 750 / (750 + 300))
    slow_worse = _trial("0", 0.5, epoch_seconds=1.0, setup_seconds=0.5)
    fast_better = _trial("1", 0.9, epoch_seconds=0.1, setup_seconds=0.5)
    oracle.trials = {"0": slow_worse, "1": fast_better}
    assert reserve(oracle) == pytest.approx(5 * costs.seconds(fast_better))

    budget = TimeBudget(60, reserve=reserve).start()
    budget.plan(oracle)
    assert budget.reserved == pytest.approx(5 * costs.seconds(fast_better))
    assert budget.remaining == pytest.approx(60 - budget.reserved, abs=1.0)
    assert budget.end_search().remaining == pytest.approx(60, abs=1.0)


def test_a_trial_stopped_in_its_first_batch_does_not_price_the_refit(costs):
    # Its only "epoch" was the trace of its step: far dearer than an epoch.
    cut = _trial("0", 0.9, epoch_seconds=9.0, setup_seconds=1.0, timed_epochs=0)
    assert costs.untimed(cut) and costs.seconds(cut) is None
    assert not costs.untimed(_trial("1", 0.9, epoch_seconds=0.1, setup_seconds=1.0, timed_epochs=3))
    reserve = _budget.search_reserve(costs, size=5, budget_seconds=60)
    # As before any trial ended, not 5 refits at 9 s an epoch.
    assert reserve(types.SimpleNamespace(trials={"0": cut})) == pytest.approx(60 * 750 / 1050)
    # Its network's cost (build, scoring, the trace) bounds a refit network's from below:
    # the networks that fit by it are planned in full, the budget's callback stopping them.
    least = costs.least_seconds(cut)
    assert least == pytest.approx(_budget.MARGIN * 10.0)
    plan = _budget.plan_refit(None, cut, 5, False, costs, 2.5 * least, searched_at_hand=True)
    assert plan.members == [cut] * 2 and plan.epochs == [10] * 2 and plan.needed is None
    plan = _budget.plan_refit(None, cut, 5, False, costs, 0.5 * least, searched_at_hand=True)
    assert plan.keep_searched


def test_a_refit_member_starts_only_when_the_budget_holds_what_it_costs_at_least(cancer):
    import keras

    from nasplug.sklearn import _refit, hypermodels

    def build(hp):
        model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    X, y = cancer[0][:100], cancer[1][:100]
    fit_data = _fit_data.prepare(NASClassifier(cv=None, callbacks=[]), X, y, None, seed=0)
    members = [_trial(str(i), 0.9) for i in range(3)]
    budget = TimeBudget(3600).start()
    # The first network always trains; the second would need more than the budget holds.
    _, trained, cut = _refit.refit(
        hypermodels.FunctionHyperModel(build),
        members,
        [1, 1, 1],
        fit_data,
        0,
        32,
        None,
        0,
        budget=budget,
        least_seconds=[None, 7200.0, 1.0],
    )
    assert trained == [1] and not cut
    _, trained, _ = _refit.refit(
        hypermodels.FunctionHyperModel(build),
        members,
        [1, 1, 1],
        fit_data,
        0,
        32,
        None,
        0,
        budget=budget,
        least_seconds=[None, 1.0, None],
    )
    assert trained == [1, 1, 1]


@pytest.mark.slow
def test_fit_ends_within_its_budget_when_the_refit_would_cost_more(cancer):
    # 80 rows cross-validated over 3 folds, then 5 networks of 600 epochs of 20 batches
    # each to refit: 60,000 steps, far more than the 5 s of the whole fit on any machine
    # (at 60 epochs a fast machine fitted the whole refit, and nothing was cut). Before
    # the budget covered the refit, fit took the budget and then the whole refit.
    X, y = cancer[0][:80], cancer[1][:80]
    budget = 5.0
    clf = NASClassifier(
        max_trials=5,
        epochs=600,
        batch_size=4,
        callbacks=[],
        cv=3,
        ensemble_size=5,
        search_space=ak.DenseBlock(
            num_layers=1, num_units=16, dropout=0.0, use_batchnorm=False, name="dense"
        ),
        learning_rate=0.01,
        random_state=0,
        time_budget=budget,
    )
    start = time.monotonic()
    with pytest.warns(TimeBudgetWarning, match="time_budget=5 s left") as caught:
        clf.fit(X, y)
    wall = time.monotonic() - start
    said = [str(w.message) for w in caught if w.category is TimeBudgetWarning]
    # Within the budget plus a batch and a network's build, with room for a busy machine.
    assert wall < budget + 4.0
    assert clf.fit_seconds_ <= wall
    assert clf.search_seconds_ < budget
    assert said == [clf.budget_note_]
    assert clf.ensemble_size_ < 5 or clf.refit_epochs_[0] < 600
    assert len(clf.refit_epochs_) == clf.ensemble_size_ == clf.ensemble_[0]["networks"]
    assert clf.predict(X).shape == y.shape


@pytest.mark.slow
def test_a_budget_spent_before_any_trial_still_ends_with_a_network_and_resumes(
    cancer, tiny, tmp_path
):
    X, y = cancer[0][:80], cancer[1][:80]
    directory = str(tmp_path / "search")
    with pytest.warns(TimeBudgetWarning, match="best_model_ is the network the search"):
        clf = tiny(
            NASClassifier,
            units=[8, 16, 32],
            max_trials=3,
            epochs=5,
            time_budget=0.01,
            directory=directory,
        ).fit(X, y)
    # The first trial trains (one batch), and its network is kept as it is.
    assert len(clf.search_results_) == 1
    assert clf.search_results_[0]["status"] == "COMPLETED"
    # ... told apart from a trial that trained all its epochs.
    assert clf.search_results_[0]["cut_by_budget"] is True
    assert clf.refit_epochs_ == [] and clf.ensemble_size_ == 1
    assert clf.predict(X).shape == y.shape
    # A resumed fit has its whole budget again: the search goes on where it stopped.
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeBudgetWarning)
        resumed = tiny(
            NASClassifier,
            units=[8, 16, 32],
            max_trials=2,
            epochs=5,
            time_budget=600,
            directory=directory,
        ).fit(X, y)
    assert [r["trial_id"] for r in resumed.search_results_][:1] == [
        clf.search_results_[0]["trial_id"]
    ]
    assert len(resumed.search_results_) == 2
    assert resumed.budget_note_ == "" and len(resumed.refit_epochs_) == 1
