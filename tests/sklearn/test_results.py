"""What a finished search tells the estimators: the best trial among those that ended."""

import keras_tuner

from nasplug.oracles import make_oracle
from nasplug.sklearn.results import SearchResults
from tests.support.synthetic import cell_space, drive


def test_a_trial_the_budget_cut_loses_a_tie_to_one_that_trained_as_planned(tmp_path):
    # The cut trial comes first: the rule of equal scores (the first wins) would keep it.
    results = iter([{"score": 0.8, "cut_by_budget": 1.0}, {"score": 0.8}, {"score": 0.6}])
    oracle = make_oracle(
        "random",
        objective=keras_tuner.Objective("score", "max"),
        max_trials=3,
        seed=0,
        hyperparameters=cell_space(),
    )
    drive(oracle, lambda values: next(results), 3, tmp_path)
    found = SearchResults(oracle)
    assert [r["cut_by_budget"] for r in found.trials] == [True, False, False]
    assert found.best_trial_id == found.trials[1]["trial_id"]
    assert found.best_score == 0.8
