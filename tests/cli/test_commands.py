"""`nasplug demo`, `nasplug search` and `nasplug predict`, run in-process on real data."""

import contextlib
import fcntl
import io
import json
import os
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_wine

from nasplug.cli import main
from nasplug.cli import predict as cli_predict
from nasplug.cli import search as cli_search

WINE_NAMES = {0: "barolo", 1: "grignolino", 2: "barbera"}


def _shared_dir(tmp_path_factory, name):
    """A directory all pytest-xdist workers of this run share (the run's own otherwise)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    path = base / name
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def wine_search(tmp_path_factory):
    """One real `nasplug search` on wine (text labels, a text feature column).

    It runs once per test run: under pytest-xdist the first worker runs it and the others
    wait for its output, which is kept with what the command printed.
    """
    root = _shared_dir(tmp_path_factory, "nasplug_cli_wine")
    csv, out = root / "wine.csv", root / "out"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "stdout.txt").exists():
            frame = load_wine(as_frame=True).frame
            frame["target"] = frame["target"].map(WINE_NAMES)
            frame["cellar"] = np.where(np.arange(len(frame)) % 3 == 0, "north", "south")
            frame.to_csv(csv, index=False)
            argv = [
                "search",
                str(csv),
                "--target",
                "target",
                "--strategy",
                "reinforce",
                "--max-trials",
                "2",
                # 10 epochs of 5 steps: enough for the first network (Adam at 1e-3)
                # to learn something, which the checks of the saved model below ask.
                "--epochs",
                "10",
                "--output",
                str(out),
                "--seed",
                "1",
                # Scored on a held-out fifth (`test_resume` searches with folds).
                "--cv",
                "none",
                # The saved model averages two networks (read back by `predict` below).
                "--ensemble-size",
                "2",
            ]
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                status = main(argv)
            (root / "stdout.txt").write_text(f"{status}\n{buffer.getvalue()}")
            (root / "warnings.txt").write_text("\n".join(str(w.message) for w in seen))
        fcntl.flock(lock, fcntl.LOCK_UN)
    status, printed = (root / "stdout.txt").read_text().split("\n", 1)
    return csv, out, int(status), printed


@pytest.mark.slow
def test_search_saves_model_metadata_and_report(wine_search):
    _, out, status, printed = wine_search
    assert status == 0, printed
    assert "Searching 2 architectures for classification of 'target'" in printed
    # One progress line per trial (not a terminal here), no Keras or KerasTuner pages.
    assert len([line for line in printed.splitlines() if line.startswith("trial ")]) == 2
    assert "Search: Running Trial" not in printed and "Epoch 1/" not in printed
    assert "Test score: accuracy" in printed
    # The best trial's number is the one its progress line showed.
    best = int(re.search(r"Best architecture \(trial (\d)\):", printed).group(1))
    best_line = next(line for line in printed.splitlines() if line.startswith(f"trial {best}/2"))
    # The line names the score as model.json describes it (a held-out fifth).
    score = float(re.search(r"completed in \d\d:\d\d, val accuracy ([0-9.]+)", best_line).group(1))
    assert "| best val accuracy " in best_line
    metadata_score = json.loads((out / "model.json").read_text())["validation_score"]
    assert score == pytest.approx(metadata_score, abs=1e-4)
    metadata = json.loads((out / "model.json").read_text())
    assert metadata["task"] == "classification"
    assert metadata["ensemble_size"] == 2
    assert [e["networks"] for e in metadata["ensemble"]] == [2]
    assert "Model: the mean of 2 networks of this architecture" in printed
    assert metadata["classes"] == sorted(WINE_NAMES.values())
    assert metadata["categorical"] == ["cellar"]
    assert metadata["table"]["levels"] == [["north", "south"]]
    assert 0 <= metadata["test_score"] <= 1
    assert f"{metadata['test_score']:.4f}" in printed
    assert (out / "model.keras").stat().st_size > 0
    html = (out / "report.html").read_text()
    assert "Controller preferences" in html and "Saved model model.keras" in html
    # What the score is, the test score and the ensemble, on the page and in model.json.
    assert metadata["validation"] == "accuracy on a held-out 20% of the training rows"
    assert f"({metadata['validation']})" in printed
    assert f"Each trial's score is its {metadata['validation']}" in html
    assert f"test accuracy: <b>{metadata['test_score']:.4g}</b> on 36 rows" in html
    assert "averages the outputs of 2 networks" in html


@pytest.mark.slow
def test_a_column_name_with_a_slash_gets_no_warning(wine_search):
    """Wine's 'od280/od315_of_diluted_wines': "/" is no Keras name, and a model input
    keyed otherwise than its name made Keras warn in every trial and on every load."""
    wine_csv, out, status, _ = wine_search
    assert status == 0
    assert "od280/od315_of_diluted_wines" in pd.read_csv(wine_csv).columns
    logged = (out.parent / "warnings.txt").read_text()
    assert "as a dict" not in logged, logged
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model, _ = cli_predict.load_model(str(out / "model.keras"))
    assert not [w for w in seen if "as a dict" in str(w.message)]
    assert "od280_od315_of_diluted_wines" in model.input


@pytest.mark.slow
def test_predict_applies_the_saved_model(wine_search, tmp_path, capsys):
    wine_csv, out, status, _ = wine_search
    assert status == 0
    frame = pd.read_csv(wine_csv)
    features = frame.drop(columns=["target"])
    features.to_csv(tmp_path / "new.csv", index=False)
    capsys.readouterr()
    argv = ["predict", str(out / "model.keras"), str(tmp_path / "new.csv")]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert main(argv + ["-o", str(tmp_path / "pred.csv"), "--proba"]) == 0
    assert not [w for w in seen if "as a dict" in str(w.message)]
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["target", "proba_barbera", "proba_barolo", "proba_grignolino"]
    assert len(pred) == len(frame)
    np.testing.assert_allclose(pred.filter(like="proba_").sum(axis=1), 1.0, atol=1e-5)
    # The labels are the classes with the highest probability, and the network learned
    # something: far better than the 40% of the largest class.
    assert (pred["target"] == pred.filter(like="proba_").idxmax(axis=1).str[6:]).all()
    assert (pred["target"] == frame["target"]).mean() > 0.6

    model, metadata = cli_predict.load_model(str(out / "model.keras"))
    again = cli_predict.predict_frame(model, metadata, features, "new.csv")
    assert (again["target"] == pred["target"]).all()

    # Columns in another order still line up by name; a missing one is an error.
    assert main(["predict", str(out / "model.keras"), str(tmp_path / "new.csv")]) == 0
    shuffled = features[features.columns[::-1]]
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    capsys.readouterr()
    assert main(["predict", str(out / "model.keras"), str(tmp_path / "shuffled.csv")]) == 0
    assert (
        pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))["target"].tolist()
        == pred["target"].tolist()
    )
    features.drop(columns=["proline", "cellar"]).to_csv(tmp_path / "short.csv", index=False)
    assert main(["predict", str(out / "model.keras"), str(tmp_path / "short.csv")]) == 2
    assert "lacks the feature column(s) 'proline', 'cellar'" in capsys.readouterr().err


@pytest.mark.slow
def test_regression_with_a_time_budget(tmp_path, capsys):
    data = load_diabetes(as_frame=True).frame.iloc[:120]
    data.to_csv(tmp_path / "diabetes.csv", index=False)
    out = tmp_path / "out"
    argv = [
        "search",
        str(tmp_path / "diabetes.csv"),
        "--target",
        "target",
        "--max-trials",
        "5",
        "--epochs",
        "5",
        "--time-budget",
        "0.001",
        "--output",
        str(out),
        "--test-size",
        "0.25",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "for regression of 'target'" in printed
    # The budget is spent at once: the first trial stops in its first epoch and no
    # other trial starts.
    trial_lines = [line for line in printed.splitlines() if line.startswith("trial ")]
    assert len(trial_lines) == 1 and trial_lines[0].startswith("trial 1/1 ")
    # It is marked as cut short, and scored as 90 training rows are: over 3 folds.
    assert trial_lines[0].startswith("trial 1/1 | cut short by the time budget in ")
    assert "| best R² (3-fold CV) " in trial_lines[0]
    assert "(its training was cut short by the time budget)" in printed
    assert "Test score: R²" in printed
    metadata = json.loads((out / "model.json").read_text())
    assert metadata["cut_by_budget"] == [1]
    assert metadata["validation"] == "3-fold cross-validated R²"
    assert metadata["task"] == "regression" and metadata["classes"] is None
    data.drop(columns=["target"]).to_csv(tmp_path / "x.csv", index=False)
    capsys.readouterr()
    assert main(["predict", str(out / "model.keras"), str(tmp_path / "x.csv")]) == 0
    pred = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert len(pred) == 120 and np.isfinite(pred["target"]).all()


@pytest.mark.parametrize(
    "make, extra, message",
    [
        (None, [], "no such file"),
        ("", [], "is empty: expected a CSV file with a header row"),
        ("a,b\n", [], "has a header but no data rows"),
        ("a,b\n1,2\n3,4\n", ["--target", "c"], "has no column 'c'; its columns are 'a', 'b'"),
        ("a,b\n1,x\n2,x\n3,x\n", ["--target", "b"], "The target column 'b' has a single class"),
        ("a,b\n1,\n2,y\n", ["--target", "b"], "has 1 missing values; drop those rows first"),
        ("a,b\n1,x\n2,y\n", ["--target", "b", "--task", "regression"], "needs a numeric target"),
        ("b\nx\ny\n", ["--target", "b"], "no feature columns besides 'b'"),
    ],
)
def test_bad_search_input_gets_one_clear_line(make, extra, message, tmp_path, capsys):
    path = tmp_path / "d.csv"
    if make is not None:
        path.write_text(make)
    argv = ["search", str(path)] + (extra or ["--target", "b"]) + ["--output", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.startswith("nasplug search: error: ") and err.count("\n") == 1


def test_bad_predict_input_gets_one_clear_line(tmp_path, capsys):
    (tmp_path / "x.csv").write_text("a\n1\n")
    assert main(["predict", str(tmp_path / "none.keras"), str(tmp_path / "x.csv")]) == 2
    assert "no such model file" in capsys.readouterr().err
    (tmp_path / "m.keras").write_bytes(b"not a zip")
    assert main(["predict", str(tmp_path / "m.keras"), str(tmp_path / "x.csv")]) == 2
    assert "model.json that `nasplug search` writes" in capsys.readouterr().err
    (tmp_path / "m.json").write_text(
        json.dumps({"task": "regression", "encoding": {"columns": ["a"]}})
    )
    assert main(["predict", str(tmp_path / "m.keras"), str(tmp_path / "x.csv")]) == 2
    assert "is not a model description written by `nasplug search`" in capsys.readouterr().err
    table = {
        "names": ["a"],
        "categorical": [False],
        "mean": [0.0],
        "scale": [1.0],
        "numeric_missing": [False],
    }
    (tmp_path / "m.json").write_text(
        json.dumps({"format": 1, "task": "regression", "table": table})
    )
    assert main(["predict", str(tmp_path / "m.keras"), str(tmp_path / "x.csv")]) == 2
    assert "written by an earlier `nasplug search`" in capsys.readouterr().err
    (tmp_path / "m.json").write_text(
        json.dumps({"format": 2, "task": "regression", "table": table})
    )
    assert main(["predict", str(tmp_path / "m.keras"), str(tmp_path / "x.csv")]) == 2
    assert "is not a loadable Keras model" in capsys.readouterr().err


def test_argument_errors_come_from_argparse(capsys):
    with pytest.raises(SystemExit):
        main(["search", "d.csv", "--target", "t", "--max-trials", "0"])
    assert "expected a positive integer, got '0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "d.csv", "--target", "t", "--strategy", "annealing"])
    assert "invalid choice: 'annealing'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "d.csv", "--target", "t", "--time-budget", "-1"])
    assert "expected a positive number of seconds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "d.csv", "--target", "t", "--ensemble-size", "0"])
    assert "expected auto or a positive number of networks, got '0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "d.csv", "--target", "t", "--cv", "1"])
    assert "expected auto, none or a number of folds of at least 2, got '1'" in (
        capsys.readouterr().err
    )


def test_cv_that_cannot_serve_is_one_clear_line_before_training(tmp_path, capsys):
    load_diabetes(as_frame=True).frame.iloc[:60].to_csv(tmp_path / "d.csv", index=False)
    argv = ["search", str(tmp_path / "d.csv"), "--target", "target", "--cv", "3"]
    assert main(argv + ["--strategy", "hyperband", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cv=3 cross-validates every trial, but strategy 'hyperband' schedules" in err
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()


def test_infer_task():
    assert cli_search.infer_task(pd.Series(["a", "b"])) == "classification"
    assert cli_search.infer_task(pd.Series([True, False])) == "classification"
    assert cli_search.infer_task(pd.Series([0, 1, 2, 1])) == "classification"
    assert cli_search.infer_task(pd.Series([0.5, 1.25, 2.0])) == "regression"
    assert cli_search.infer_task(pd.Series(range(100))) == "regression"


@pytest.mark.slow
def test_demo_runs_a_real_search_on_digits(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--max-trials", "1", "--epochs", "1", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "searching 1 network architecture for scikit-learn's digits" in printed
    accuracy = float(printed.split("Test accuracy: ")[1].split()[0])
    assert accuracy > 0.5  # ten classes: chance is 0.1
    assert f"Model saved to {out / 'model.keras'}" in printed
    assert f"Report saved to {out / 'report.html'}" in printed
    assert (out / "model.keras").stat().st_size > 0
    assert "Best architecture" in (out / "report.html").read_text()


@pytest.mark.slow
def test_search_for_a_pareto_front_with_a_size_limit(tmp_path, capsys):
    frame = load_wine(as_frame=True).frame
    frame.to_csv(tmp_path / "wine.csv", index=False)
    out = tmp_path / "out"
    argv = [
        "search",
        str(tmp_path / "wine.csv"),
        "--target",
        "target",
        "--max-trials",
        "3",
        "--epochs",
        "1",
        "--output",
        str(out),
        "--objectives",
        "accuracy,params",
        "--max-params",
        "5000",
        "--quiet",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Pareto front (accuracy, params, constraint_violation); kept: trial" in printed
    metadata = json.loads((out / "model.json").read_text())
    front = metadata["pareto_front"]
    kept = next(m for m in front if m["trial_id"] == metadata["best_trial_id"])
    assert kept["accuracy"] == max(m["accuracy"] for m in front)
    assert all(m["params"] <= 5000 for m in front if m["constraint_violation"] == 0)
    assert "Pareto front: accuracy vs params" in (out / "report.html").read_text()


def test_bad_objectives_get_one_clear_line(tmp_path, capsys):
    load_wine(as_frame=True).frame.to_csv(tmp_path / "wine.csv", index=False)
    argv = [
        "search",
        str(tmp_path / "wine.csv"),
        "--target",
        "target",
        "--objectives",
        "accuracy,speed",
        "--output",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nasplug search: error: Unknown objective 'speed'")
    argv[-3:-2] = ["accuracy,latency"]
    assert main(argv + ["--strategy", "random"]) == 2
    assert "Strategy 'random' has no multi-objective mode" in capsys.readouterr().err


def test_version_prints_the_one_version(capsys):
    from importlib import metadata

    import nasplug

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"nasplug {nasplug.__version__}"
    # The installed metadata is read from nasplug/__init__.py, not written twice.
    assert metadata.version("nasplug") == nasplug.__version__


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("alcohol", np.inf, "column 'alcohol' holds an infinite value (inf) in data row(s)"),
        (
            "hue",
            -1e39,
            "column 'hue' holds -1e+39, beyond float32's range (about 3.4e38) in data row(s)",
        ),
    ],
)
def test_a_bad_value_in_the_test_rows_stops_the_search_before_training(
    column, value, message, tmp_path, capsys
):
    """Only the rows held out for the test score hold it: the search used to run whole,
    then end on a traceback with model.keras written and no model.json or report."""
    from nasplug.sklearn.data import holdout

    frame = load_wine(as_frame=True).frame
    _, test_rows = holdout(len(frame), 0.2, 0, frame["target"].to_numpy())
    frame.loc[int(test_rows[3]), column] = value
    frame.to_csv(tmp_path / "wine.csv", index=False)
    out = tmp_path / "out"
    argv = ["search", str(tmp_path / "wine.csv"), "--target", "target", "--output", str(out)]
    assert main(argv + ["--max-trials", "1", "--epochs", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("nasplug search: error: ") and captured.err.count("\n") == 1
    assert f"{message} {int(test_rows[3]) + 1};" in captured.err, captured.err
    assert "Searching" not in captured.out and not out.exists()


def test_an_infinite_regression_target_is_one_line(tmp_path, capsys):
    frame = load_diabetes(as_frame=True).frame.iloc[:40]
    frame.loc[7, "target"] = -np.inf
    frame.to_csv(tmp_path / "d.csv", index=False)
    argv = ["search", str(tmp_path / "d.csv"), "--target", "target"]
    assert main(argv + ["--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "column 'target' holds an infinite value (-inf) in data row(s) 8;" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()


def test_models_keyed_by_column_names_still_predict(tmp_path, capsys):
    """Before inputs were keyed by their Keras names, a saved model took the column names
    ("a/b"); `nasplug predict` feeds it those, whichever order Keras sorts them in."""
    import keras
    import keras_tuner

    from nasplug.sklearn.prediction import model_output
    from nasplug.sklearn.tabular import TableEncoding, to_columns

    rng = np.random.default_rng(0)
    # Sorted by name "a/b" comes before "a0"; by Keras name "a0" before "a_b".
    frame = pd.DataFrame(
        {
            "a/b": rng.normal(size=60),
            "a0": rng.normal(10, 3, size=60),
            "colour": rng.choice(["red", "blue"], 60),
        }
    )
    categorical = [False, False, True]
    names = list(frame.columns)
    table = TableEncoding.from_data(to_columns(frame, categorical, names), names, categorical)
    inputs, x = table.build_network_inputs(keras_tuner.HyperParameters())
    network = keras.Model(inputs, keras.layers.Dense(1, name="out")(x))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        keyed, outputs = table.raw_rows_model(network)
        model = keras.Model(keyed, outputs)
    assert not [w for w in seen if "as a dict" in str(w.message)]
    assert sorted(model.input) == ["a0", "a_b", "colour"]
    rows = table.rows(frame)
    expected = model_output(model, table.raw_input(rows))[:, 0]

    # The model as it was saved before: the same Keras inputs, keyed by column name.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras's "inputs as a dict" warning, as then
        old = keras.Model({name: keyed[key] for name, key in zip(names, table.input_keys)}, outputs)
    old.save(tmp_path / "model.keras")
    metadata = {"format": 2, "task": "regression", "target": "y", "table": table.get_config()}
    (tmp_path / "model.json").write_text(json.dumps(metadata))
    frame.to_csv(tmp_path / "x.csv", index=False)
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert main(["predict", str(tmp_path / "model.keras"), str(tmp_path / "x.csv")]) == 0
    assert not [w for w in seen if "inputs" in str(w.message)], [str(w.message) for w in seen]
    predicted = pd.read_csv(io.StringIO(capsys.readouterr().out))["y"].to_numpy()
    np.testing.assert_allclose(predicted, expected, rtol=1e-5, atol=1e-5)
