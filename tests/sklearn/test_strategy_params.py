"""A strategy's own arguments through the estimators and the command line."""

import json
import os

import pytest
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV

from nasplug import NASClassifier
from nasplug.cli import main
from nasplug.screening import Screening


@pytest.fixture(scope="module")
def tiny_defaults():
    # Two widths, so that the strategies have a choice to make.
    return dict(units=[8, 16], epochs=2)


def saved_oracle(directory):
    with open(os.path.join(directory, "nasplug_estimator", "oracle.json")) as f:
        return json.load(f)


def test_strategy_params_follow_scikit_learn_parameter_rules():
    params = {"population_size": 4, "sample_size": 2}
    clf = NASClassifier(strategy_params=params, screening=Screening(factor=2))
    # Stored unchanged, the same object.
    assert clf.get_params()["strategy_params"] is params
    copy = clone(clf)
    assert copy.strategy_params == params and copy.strategy_params is not params
    assert copy.screening == Screening(factor=2)
    copy.set_params(strategy_params={"population_size": 6})
    assert copy.strategy_params == {"population_size": 6}
    assert clf.strategy_params == {"population_size": 4, "sample_size": 2}


@pytest.mark.parametrize(
    "strategy, params, message",
    [
        (
            "evolution",
            {"population": 3},
            "Strategy 'evolution' has no argument 'population' \\(in strategy_params\\); its own "
            "arguments are: population_size, sample_size, mutations",
        ),
        ("qlearning", {"max_trials": 3}, "'max_trials' cannot be given in strategy_params"),
        (
            "evolution",
            {"population_size": 0},
            "strategy_params of strategy 'evolution': population_size must be a positive integer",
        ),
        (
            "evolution",
            {"population_size": 2, "sample_size": 3},
            "sample_size \\(3\\) cannot exceed population_size \\(2\\)",
        ),
        ("evolution", [("population_size", 3)], "strategy_params must be a dict"),
    ],
)
def test_bad_strategy_params_are_one_clear_error_before_any_training(
    strategy, params, message, cancer, tmp_path, tiny
):
    X, y = cancer
    clf = tiny(NASClassifier, strategy=strategy, strategy_params=params, directory=str(tmp_path))
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not os.path.exists(tmp_path / "nasplug_estimator")


@pytest.mark.slow
def test_strategy_params_reach_the_strategy(cancer, tmp_path, tiny):
    X, y = cancer
    tiny(
        NASClassifier,
        max_trials=2,
        epochs=1,
        refit=False,
        directory=str(tmp_path / "plain"),
        strategy_params={"population_size": 4, "sample_size": 2},
    ).fit(X, y)
    state = saved_oracle(tmp_path / "plain")
    assert (state["population_size"], state["sample_size"]) == (4, 2)


@pytest.mark.slow
def test_grid_search_over_a_strategy_argument(cancer, tiny):
    X, y = cancer
    grid = GridSearchCV(
        tiny(NASClassifier, epochs=1),
        {"strategy_params": [{"population_size": 3}, {"population_size": 5}]},
        cv=2,
    ).fit(X, y)
    assert grid.best_params_["strategy_params"] in ({"population_size": 3}, {"population_size": 5})
    assert grid.best_estimator_.strategy_params == grid.best_params_["strategy_params"]
    assert len(grid.cv_results_["mean_test_score"]) == 2


@pytest.mark.slow
def test_the_cli_passes_strategy_arguments_and_refuses_unknown_ones(tmp_path, capsys):
    frame = load_wine(as_frame=True).frame.sample(90, random_state=0)
    csv = tmp_path / "wine.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "out"
    base = [
        "search",
        str(csv),
        "--target",
        "target",
        "--max-trials",
        "2",
        "--epochs",
        "1",
        "--output",
        str(out),
        "--quiet",
    ]
    assert main(base + ["--strategy", "evolution", "--strategy-arg", "populationsize=3"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith(
            "nasplug search: error: --strategy-arg: Strategy 'evolution' has no "
            "argument 'populationsize'"
        )
        and err.count("\n") == 1
    )
    assert "population_size, sample_size, mutations" in err
    assert not out.exists()
    assert main(base + ["--strategy", "qlearning", "--strategy-arg", "exploration_trials=0"]) == 2
    assert "exploration_trials" in capsys.readouterr().err

    argv = base + ["--strategy-arg", "population_size=4", "--strategy-arg", "sample_size=2"]
    assert main(argv) == 0
    with open(out / "search" / "nasplug_estimator" / "oracle.json") as f:
        state = json.load(f)
    assert (state["population_size"], state["sample_size"]) == (4, 2)


def test_the_demo_takes_strategy_arguments(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = [
        "demo",
        "--max-trials",
        "1",
        "--epochs",
        "1",
        "--output",
        str(out),
        "--quiet",
        "--strategy",
        "reinforce",
        "--strategy-arg",
        "learning_rate=0.5",
    ]
    assert main(argv) == 0
    with open(out / "search" / "nasplug_estimator" / "oracle.json") as f:
        assert json.load(f)["learning_rate"] == 0.5
    assert main(argv[:-1] + ["rate=0.5"]) == 2
    assert "Strategy 'reinforce' has no argument 'rate'" in capsys.readouterr().err
