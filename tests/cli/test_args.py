"""The command line's shared arguments and errors, without running a search."""

import argparse
import json
import re
import subprocess
import sys

import pytest

from nasplug.cli import COMMANDS, _args, main
from nasplug.oracles import registry

# Help and argument errors of every command; none may load Keras or TensorFlow.
FAST_ARGVS = [
    ["--help"],
    *([name, "--help"] for name in COMMANDS),
    ["bench", "nasbench201", "--help"],
    ["search", "d.csv", "--target", "t", "--max-trials", "0"],
    ["search", "d.csv", "--target", "t", "--strategy", "annealing"],
    ["demo", "--epochs", "x"],
    ["bench", "nasbench201", "--table", "t.csv", "--oracle-arg", "population_size"],
    ["bench", "nasbench201", "--table", "t.csv", "--oracle-arg", "population_size=3"],
    ["bench", "nasbench201", "--table", "t.csv", "--runs-for", "bayesian"],
    ["distributed", "--timeout", "-1", "search.py"],
    ["distributed", "--workers", "0", "search.py"],
    ["search", "missing.csv", "--target", "t"],
    ["search", "d.csv", "--target", "t", "--ray-workers", "2"],
    ["search", "d.csv", "--target", "t", "--ray", "auto", "--gpus-per-trial", "-1"],
    ["predict", "missing.keras", "missing.csv"],
]

_PROBE = """
import contextlib, io, json, sys
from nasplug.cli import main

results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit:
            status = exit.code
    results.append([argv, status, err.getvalue()])
loaded = sorted(m for m in ("keras", "tensorflow", "keras_tuner", "autokeras") if m in sys.modules)
print(json.dumps({"results": results, "loaded": loaded}))
"""


def test_help_and_argument_errors_load_no_keras():
    # A fresh interpreter: this one has imported TensorFlow already.
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(FAST_ARGVS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    probe = json.loads(done.stdout)
    assert probe["loaded"] == []
    statuses = {" ".join(argv): status for argv, status, _ in probe["results"]}
    for argv in FAST_ARGVS:
        expected = 0 if "--help" in argv else 2
        assert statuses[" ".join(argv)] == expected, argv


def test_command_errors_are_one_line_with_exit_status_2(tmp_path, capsys):
    cases = [
        (
            ["bench", "nasbench201", "--table", "t.csv", "--oracle-arg", "population_size=3"],
            "nasplug bench: error: --oracle-arg expects NAME.ARG=VALUE",
        ),
        (
            ["bench", "nasbench201", "--table", "t.csv", "--runs-for", "bayesian"],
            "nasplug bench: error: --runs-for expects NAME=N items, got 'bayesian'.",
        ),
        (
            ["distributed", "--workers", "0", str(tmp_path / "s.py")],
            "nasplug distributed: error: --workers must be at least 1, got 0.",
        ),
        (["report", str(tmp_path / "nowhere")], "nasplug report: error: "),
        (
            ["predict", str(tmp_path / "m.keras"), "x.csv"],
            "nasplug predict: error: " + f"{tmp_path / 'm.keras'}: no such model file.",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith(message), (argv, err)
        assert err.count("\n") == 1, err


def test_strategy_choices_come_from_the_registry(capsys):
    parser = argparse.ArgumentParser()
    _args.add_strategy(parser)
    assert parser.parse_args([]).strategy == "predictor"
    for name in registry.names():
        assert parser.parse_args(["--strategy", name]).strategy == name
    with pytest.raises(SystemExit):
        parser.parse_args(["--strategy", "annealing"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["bench", "nasbench201", "--help"])
    tabular = [s.name for s in registry.strategies() if s.tabular_benchmark]
    assert f"(default: {', '.join(tabular)})" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "kind, text, expected",
    [
        (_args.positive_int, "3", 3),
        (_args.positive_int, "0", "expected a positive integer, got '0'"),
        (_args.positive_int, "2.5", "expected a positive integer, got '2.5'"),
        (_args.fraction, "0", 0.0),
        (_args.fraction, "0.25", 0.25),
        (_args.fraction, "1", "expected a fraction in [0, 1), got '1'"),
        (_args.fraction, "a", "expected a fraction in [0, 1), got 'a'"),
        (_args.seconds, "1.5", 1.5),
        (_args.seconds, "0", "expected a positive number of seconds, got '0'"),
        (_args.seconds, "inf", "expected a positive number of seconds, got 'inf'"),
        (_args.seconds, "nan", "expected a positive number of seconds, got 'nan'"),
        (_args.seconds, "soon", "expected a number of seconds, got 'soon'"),
        (_args.non_negative_number, "0", 0.0),
        (_args.non_negative_number, "0.5", 0.5),
        (_args.non_negative_number, "-1", "expected a number of at least 0, got '-1'"),
        (_args.non_negative_number, "one", "expected a number, got 'one'"),
        (_args.key_value, "population_size=20", ("population_size", 20)),
        (_args.key_value, "evolution.rate=0.5", ("evolution.rate", 0.5)),
        (_args.key_value, "flag=true", ("flag", True)),
        (_args.key_value, "widths=[8, 16]", ("widths", [8, 16])),
        (_args.key_value, "activation=relu", ("activation", "relu")),
        (_args.key_value, "note=a=b", ("note", "a=b")),
        (_args.key_value, " name =", ("name", "")),
        (_args.key_value, "population_size", "expected KEY=VALUE, got 'population_size'"),
        (_args.key_value, "=3", "expected KEY=VALUE, got '=3'"),
    ],
)
def test_argument_types(kind, text, expected):
    if isinstance(expected, str):
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(expected)):
            kind(text)
    else:
        assert kind(text) == expected


def test_bad_input_is_told_before_tensorflow_loads(tmp_path):
    """Cheap checks before expensive loads: a missing CSV, a bad value in any row, a
    missing column or output folder is one line, and Keras is never imported."""
    (tmp_path / "inf.csv").write_text("a,b,t\n1,2,x\n3,inf,y\n5,6,x\n")
    (tmp_path / "model.keras").write_bytes(b"never loaded")
    table = {"names": ["a", "b"], "categorical": [False, False], "mean": [0, 0], "scale": [1, 1]}
    (tmp_path / "model.json").write_text(
        json.dumps({"format": 2, "task": "regression", "table": table})
    )
    (tmp_path / "short.csv").write_text("a\n1\n")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    model, missing = str(tmp_path / "model.keras"), str(tmp_path / "missing.csv")
    cases = [
        (["search", str(tmp_path / "inf.csv"), "--target", "t"], "column 'b' holds an infinite"),
        (["predict", model, missing], "missing.csv: no such file"),
        (["predict", model, str(tmp_path / "short.csv")], "lacks the feature column(s) 'b'"),
        (
            ["predict", model, str(tmp_path / "x.csv"), "-o", str(tmp_path / "no" / "p.csv")],
            "-o " + str(tmp_path / "no" / "p.csv") + ": no such directory",
        ),
        (["report", str(tmp_path), "--model", missing], "--model " + missing + ": no such file"),
        (["bench", "nasbench201", "--table", missing], "NAS-Bench-201 table not found"),
        (
            ["bench", "nasbench201", "--table", model, "--json", str(tmp_path / "no" / "r.json")],
            "--json " + str(tmp_path / "no" / "r.json") + ": no such directory",
        ),
    ]
    for argv, _ in cases:
        if argv[0] == "search":
            argv += ["--output", str(tmp_path / "out")]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps([argv for argv, _ in cases])],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
    )
    probe = json.loads(done.stdout)
    assert probe["loaded"] == []
    for (argv, message), (_, status, err) in zip(cases, probe["results"]):
        assert status == 2, (argv, err)
        assert message in err and err.count("\n") == 1, (argv, err)
    assert not (tmp_path / "out").exists()


def test_epochs_default_to_the_estimators_own():
    from nasplug.sklearn.tuner import MIN_EPOCHS, MIN_STEPS

    parser = argparse.ArgumentParser()
    _args.add_budget(parser, max_trials=10, epochs=None)
    assert parser.parse_args([]).epochs is None  # the estimators' epochs=None
    assert parser.parse_args(["--epochs", "auto"]).epochs is None
    assert parser.parse_args(["--epochs", "7"]).epochs == 7
    with pytest.raises(argparse.ArgumentTypeError, match="expected auto or a positive integer"):
        _args.epoch_count("0")
    # The help says what auto means with the estimators' own numbers.
    assert f"{MIN_STEPS} optimizer steps" in _args.AUTO_EPOCHS_HELP
    assert f"at least {MIN_EPOCHS} epochs" in _args.AUTO_EPOCHS_HELP
    from nasplug.cli import search

    search_parser = argparse.ArgumentParser()
    search.add_arguments(search_parser)
    assert search_parser.parse_args(["d.csv", "--target", "t"]).epochs is None


def test_ray_options_give_the_estimators_backend(capsys):
    from nasplug.cli import search
    from nasplug.distributed import RayBackend

    parser = argparse.ArgumentParser()
    search.add_arguments(parser)
    base = ["d.csv", "--target", "t"]
    args = parser.parse_args(base)
    assert search._backend(args) is None
    args = parser.parse_args([*base, "--ray", "auto", "--ray-workers", "3"])
    assert search._backend(args) == RayBackend(address="auto", workers=3)
    args = parser.parse_args([*base, "--ray", "local", "--gpus-per-trial", "0.5"])
    assert search._backend(args) == RayBackend(address="local", gpus_per_trial=0.5)
    args = parser.parse_args([*base, "--ray", "h:6379", "--cpus-per-trial", "2"])
    assert search._backend(args) == RayBackend(address="h:6379", cpus_per_trial=2)
    assert main(["search", *base, "--cpus-per-trial", "2", "--ray-workers", "2"]) == 2
    assert (
        "--ray-workers, --cpus-per-trial set how trials run on Ray: give --ray ADDRESS as well"
        in capsys.readouterr().err
    )
