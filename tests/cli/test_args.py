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
