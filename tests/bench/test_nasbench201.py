"""NAS-Bench-201 harness: table loading, the table tuner, the runner and `nasplug bench`.

Most tests use a synthetic table the test writes (all 15,625 cells, accuracies a seeded
function of the operations), so they never depend on the shared benchmark file; one test
checks the real table when it is there.
"""

import dataclasses
import json
import os
import runpy
import sys

import keras_tuner
import numpy as np
import pandas as pd
import pytest

from nasplug import cli
from nasplug.bench import _runner, benchmark
from nasplug.bench import nasbench201 as nb
from nasplug.oracles import make_oracle, registry
from nasplug.space import SearchSpace
from tests.support import REPO, shared_data

REAL_TABLE = shared_data("nasbench201", "cifar10.csv.gz")


def _synthetic_frame(seed=0):
    """All cells; convolutions help, "none" hurts, plus seeded per-cell noise."""
    rng = np.random.default_rng(seed)
    grid = np.array(np.meshgrid(*[range(5)] * 6, indexing="ij")).reshape(6, -1).T
    op_value = np.array([-6.0, 1.0, 2.5, 4.0, 0.5])
    op_cost = np.array([0.0, 1.0, 8.0, 20.0, 4.0])
    signal = 50 + op_value[grid].sum(axis=1) + rng.normal(0, 1.5, len(grid))
    return pd.DataFrame(
        {
            # meshgrid's "ij" order is the cell index order.
            "arch": nb.cell_strings(),
            "valid_acc_12ep": signal,
            "train_time_12ep_s": 40 + op_cost[grid].sum(axis=1),
            "params_mb": rng.uniform(0.1, 1.5, len(grid)),
            "latency_s": rng.uniform(0.01, 0.02, len(grid)),
            "valid_acc_200ep": 0.5 * signal + 45 + rng.normal(0, 0.3, len(grid)),
            "test_acc_200ep": 0.5 * signal + 48 + rng.normal(0, 0.3, len(grid)),
        }
    )


@pytest.fixture(scope="module")
def frame():
    return _synthetic_frame()


@pytest.fixture(scope="module")
def table_path(tmp_path_factory, frame):
    # Shuffled, so the loader cannot rely on the benchmark's row order.
    path = tmp_path_factory.mktemp("nb201") / "synthetic.csv"
    frame.sample(frac=1.0, random_state=1).to_csv(path, index=False)
    return str(path)


@pytest.fixture(scope="module")
def table(table_path):
    return nb.load_table(table_path)


def _oracle(strategy, seed=1, **kwargs):
    oracle = make_oracle(
        strategy,
        objective=keras_tuner.Objective(nb.OBJECTIVE, "max"),
        max_trials=None,
        seed=seed,
        hyperparameters=nb.search_space(),
        **kwargs,
    )
    oracle.verbose = 0
    return oracle


# The table.


def test_arch_string_round_trip_and_bad_strings():
    arch = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+"
        "|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    )
    values = nb.parse_arch(arch)
    assert values == {
        "edge_1_0": "nor_conv_3x3",
        "edge_2_0": "nor_conv_3x3",
        "edge_2_1": "avg_pool_3x3",
        "edge_3_0": "skip_connect",
        "edge_3_1": "nor_conv_3x3",
        "edge_3_2": "skip_connect",
    }
    assert nb.arch_string(values) == arch
    for bad in [
        "",
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~0|+|none~0|none~1|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
    ]:
        with pytest.raises(ValueError, match="not a NAS-Bench-201 cell string"):
            nb.parse_arch(bad)


def test_load_table_indexes_every_cell(table, frame):
    row = frame.iloc[1234]
    got = table.lookup(nb.parse_arch(row["arch"]))
    assert got["arch"] == row["arch"]
    assert got["valid_acc_12ep"] == pytest.approx(row["valid_acc_12ep"])
    assert got["query_cost_s"] == pytest.approx(row["train_time_12ep_s"] * (1 + 0.35 / 12))
    assert got["test_acc_200ep"] == pytest.approx(row["test_acc_200ep"])
    assert all(type(v) in (str, float) for v in got.values())
    assert table.optimum["test_acc_200ep"] == pytest.approx(frame["test_acc_200ep"].max())
    assert table.name == "synthetic"


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: f.drop(columns=["train_time_12ep_s"]), "lacks the column.*train_time_12ep_s"),
        (
            lambda f: f.assign(
                valid_acc_12ep=f["valid_acc_12ep"].astype(object).where(f.index != 7, "abc")
            ),
            "valid_acc_12ep.*row 8 holds 'abc'",
        ),
        (
            lambda f: f.assign(arch=f["arch"].where(f.index != 3, "|bogus~0|")),
            r"row 4: '\|bogus~0\|' is not a NAS-Bench-201 cell",
        ),
        (lambda f: pd.concat([f, f.iloc[:1]]), "more than once"),
        (lambda f: f.iloc[:200], "has 200 cells; .* all 15625 cells"),
        (lambda f: f.assign(train_time_12ep_s=0.0), "must be positive"),
        (
            lambda f: f.assign(test_acc_200ep=f["test_acc_200ep"].where(f.index != 2)),
            "test_acc_200ep.*row 3 holds nothing",
        ),
    ],
    ids=[
        "missing-column",
        "not-a-number",
        "bad-arch",
        "duplicate",
        "sample-rows",
        "zero-cost",
        "empty",
    ],
)
def test_load_table_rejects_malformed_tables(tmp_path, frame, damage, message):
    path = tmp_path / "bad.csv"
    # Every other check comes before the count of cells, so a sample of rows will do.
    damage(frame.iloc[:300]).to_csv(path, index=False)
    with pytest.raises(nb.TableError, match=message):
        nb.load_table(path)


def test_load_table_rejects_missing_and_unreadable_files(tmp_path):
    with pytest.raises(nb.TableError, match="not found"):
        nb.load_table(tmp_path / "nope.csv.gz")
    garbage = tmp_path / "garbage.csv.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(nb.TableError, match="Cannot read"):
        nb.load_table(garbage)


@pytest.mark.slow
@pytest.mark.skipif(REAL_TABLE is None, reason="shared NAS-Bench-201 table absent")
def test_real_cifar10_table():
    table = nb.load_table(REAL_TABLE)
    assert table.name == "cifar10"
    assert table.optimum["test_acc_200ep"] == pytest.approx(94.3733)
    row = table.lookup(
        nb.parse_arch(
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
        )
    )
    assert row["valid_acc_12ep"] == pytest.approx(82.834)
    assert row["test_acc_200ep"] == pytest.approx(93.66)
    result = benchmark.run_search(table, "evolution", seed=3)
    # About 106 queries fit the paper's budget.
    assert 80 <= result["queries"] <= 140
    assert result["elapsed_s"] <= 12000
    assert result["valid_acc_12ep"] == max(r["valid_acc_12ep"] for r in result["history"])


# The tuner.


def test_table_tuner_runs_the_oracle_api_until_the_budget(table, tmp_path):
    oracle = _oracle("random")
    tuner = nb.TableTuner(oracle, table, budget_s=1000.0, directory=str(tmp_path), project_name="p")
    tuner.search()
    history = tuner.history
    assert len(history) >= 5
    assert tuner.elapsed_s == pytest.approx(sum(r["query_cost_s"] for r in history))
    assert tuner.elapsed_s <= 1000.0
    trials = [oracle.trials[t] for t in oracle.start_order]
    # Every query went through create_trial/update_trial/end_trial and scored as looked up.
    for trial, row in zip(trials, history):
        assert trial.status == "COMPLETED"
        assert trial.score == row["valid_acc_12ep"]
        assert nb.arch_string(trial.hyperparameters.values) == row["arch"]
    # The oracle's next proposal would have passed the budget, so it was never run.
    assert len(trials) == len(history) + 1
    unrun = trials[-1]
    assert unrun.status == "RUNNING"
    assert tuner.elapsed_s + table.lookup(unrun.hyperparameters.values)["query_cost_s"] > 1000.0
    # KerasTuner wrote its trial and oracle files, as in any search.
    assert os.path.exists(tmp_path / "p" / "oracle.json")
    assert os.path.exists(tmp_path / "p" / f"trial_{trials[0].trial_id}" / "trial.json")


def test_table_tuner_refuses_an_idle_oracle(table, tmp_path):
    oracle = _oracle("random")
    oracle.populate_space = lambda trial_id: {"status": "IDLE", "values": None}
    tuner = nb.TableTuner(oracle, table, budget_s=500.0, directory=str(tmp_path))
    with pytest.raises(RuntimeError, match="returned IDLE while no trial was running"):
        tuner.search()


@pytest.mark.parametrize("strategy", ["evolution", "reinforce", "qlearning", "random", "greedy"])
def test_run_search_reports_the_best_by_search_cell(table, strategy):
    result = benchmark.run_search(table, strategy, seed=5, budget_s=4000.0)
    history = result["history"]
    best = max(history, key=lambda r: r["valid_acc_12ep"])
    assert result["arch"] == best["arch"]
    assert result["test_acc_200ep"] == best["test_acc_200ep"]
    assert result["queries"] == len(history) and result["elapsed_s"] <= 4000.0
    again = benchmark.run_search(table, strategy, seed=5, budget_s=4000.0)
    assert [r["arch"] for r in again["history"]] == [r["arch"] for r in history]


@pytest.mark.slow
def test_run_search_with_keras_tuner_bayesian(table):
    # One random point, then the Gaussian process proposes (seconds per proposal).
    result = benchmark.run_search(
        table, "bayesian", seed=2, budget_s=200.0, oracle_kwargs={"num_initial_points": 1}
    )
    assert result["queries"] >= 2


def test_greedy_gets_random_initial_cells_and_leaves_them(table):
    result = benchmark.run_search(table, "greedy", seed=7, budget_s=3000.0)
    history = result["history"]
    assert len(history) > benchmark.GREEDY_INITIAL_CELLS
    # After its warm start, AutoKeras's greedy oracle changes the best cell's decisions.
    first_best = max(history[: benchmark.GREEDY_INITIAL_CELLS], key=lambda r: r["valid_acc_12ep"])
    after = [nb.parse_arch(r["arch"]) for r in history[benchmark.GREEDY_INITIAL_CELLS :]]
    best_values = nb.parse_arch(first_best["arch"])
    assert sum(v != best_values[k] for k, v in after[0].items()) >= 1


@pytest.mark.slow
def test_searching_beats_random_on_the_synthetic_table(table):
    # The synthetic signal rewards convolutions on every edge, which evolution exploits.
    seeds = benchmark.run_seeds(0, 6)
    evo = [
        benchmark.run_search(table, "evolution", s, budget_s=4000.0)["test_acc_200ep"]
        for s in seeds
    ]
    rnd = [
        benchmark.run_search(table, "random", s, budget_s=4000.0)["test_acc_200ep"] for s in seeds
    ]
    assert np.mean(evo) > np.mean(rnd)


def test_best_so_far_curve():
    history = [
        {"elapsed_s": 10.0, "valid_acc_12ep": 50.0, "test_acc_200ep": 80.0},
        {"elapsed_s": 25.0, "valid_acc_12ep": 40.0, "test_acc_200ep": 99.0},
        {"elapsed_s": 30.0, "valid_acc_12ep": 60.0, "test_acc_200ep": 85.0},
    ]
    curve = benchmark.best_so_far_curve(history, np.array([0.0, 10.0, 26.0, 40.0]))
    # The test accuracy follows the best search signal, not the best test accuracy.
    assert np.isnan(curve[0])
    assert list(curve[1:]) == [80.0, 80.0, 85.0]


def test_difference_to_random_and_its_standard_error():
    a = {"runs": 100, "test_acc_200ep": {"mean": 94.0, "std": 0.3}}
    b = {"runs": 400, "test_acc_200ep": {"mean": 93.5, "std": 0.4}}
    difference, se = benchmark.difference_to(a, b)
    assert difference == pytest.approx(0.5)
    assert se == pytest.approx((0.09 / 100 + 0.16 / 400) ** 0.5)
    line = benchmark._versus(a, b)
    assert line == "+0.50 ± 0.04"


def test_run_benchmark_checks_its_arguments(table_path):
    with pytest.raises(ValueError, match="Unknown strategy 'nope'"):
        benchmark.run_benchmark(table_path, strategies=["nope"], runs=1)
    with pytest.raises(ValueError, match="runs must be >= 1"):
        benchmark.run_benchmark(table_path, strategies=["random"], runs=0)
    with pytest.raises(ValueError, match="Every strategy has 0 runs"):
        benchmark.run_benchmark(table_path, strategies=["random"], runs=1, runs_for={"random": 0})


def test_one_objective_and_several_take_the_same_path(table_path, table):
    single = benchmark.run_benchmark(
        table_path, strategies=["evolution", "random"], runs=2, budget_s=1500.0, workers=1
    )
    several = benchmark.run_benchmark(
        table_path,
        strategies=["evolution", "random"],
        runs=2,
        budget_s=1500.0,
        workers=1,
        objectives="test_acc,latency",
    )
    assert several["objectives"] == ["test_acc", "latency"]
    assert several["reported_columns"] == ["test_acc_200ep", "latency_s"]
    assert "objectives" not in single
    for results, score in ((single, "test_acc_200ep"), (several, "hypervolume_ratio")):
        for name, entry in results["strategies"].items():
            # A run's curve ends at what the whole run found.
            assert entry["curve"]["mean"][-1] == pytest.approx(entry[score]["mean"]), name
        evo, rnd = results["strategies"]["evolution"], results["strategies"]["random"]
        assert evo["vs_random"]["difference"] == pytest.approx(
            evo[score]["mean"] - rnd[score]["mean"]
        )
    for entry in several["strategies"].values():
        assert 0 < entry["hypervolume_ratio"]["mean"] <= 1 and entry["front_size"]["mean"] >= 1
    with pytest.raises(ValueError, match="'greedy' has no multi-objective mode"):
        benchmark.run_search(table, "greedy", 1, budget_s=500.0, objectives=("test_acc", "params"))


@pytest.fixture
def special():
    """AutoKeras's greedy oracle under a record asking for every special treatment."""
    record = registry.Strategy(
        "special",
        "autokeras.tuners.greedy:GreedyOracle",
        "greedy search, registered with the benchmark's special fields",
        slow=True,
        bench_runs=1,
        bench_initial_points=3,
        global_numpy=True,
        published=(("synthetic", "Special et al.", 80.0, 0.5),),
    )
    registry.register(dataclasses.replace(record, name="unseeded", global_numpy=False))
    yield registry.register(record)
    registry.unregister("special")
    registry.unregister("unseeded")


def test_registry_fields_drive_the_benchmark_s_special_cases(special, table_path, table):
    assert benchmark.default_runs_for() == {"bayesian": 2, "special": 1, "unseeded": 1}
    chunks = _runner.tasks(
        table_path, {"random": 8, "special": 3}, list(range(1, 9)), 100.0, {}, [0.0], None, 1
    )
    # A slow strategy: one run per task, scheduled before the others.
    assert [(c[1], c[2]) for c in chunks[:3]] == [("special", [i]) for i in range(3)]
    assert {c[1] for c in chunks[3:]} == {"random"}

    rng = np.random.default_rng(5)
    starts = [nb.arch_string(SearchSpace(nb.search_space()).random_values(rng)) for _ in range(3)]
    histories = {}
    for name in ("special", "unseeded"):
        histories[name] = []
        for before in (123, 999):
            np.random.seed(before)
            history = benchmark.run_search(table, name, seed=5, budget_s=1500.0)["history"]
            histories[name].append([r["arch"] for r in history])
            # Seeded for the run, the global generator is restored after it.
            restored = np.random.random() == np.random.RandomState(before).random_sample()
            assert restored == (name == "special")
    assert histories["special"][0][:3] == starts
    # Seeded for the run, the greedy oracle repeats it whatever the global state was.
    assert histories["special"][0] == histories["special"][1]
    assert histories["unseeded"][0] != histories["unseeded"][1]

    results = benchmark.run_benchmark(
        table_path, strategies=["special", "random"], runs=2, budget_s=1000.0, workers=1
    )["strategies"]
    assert results["special"]["runs"] == 1 and results["random"]["runs"] == 2
    assert results["special"]["published"] == {
        "algorithm": "Special et al.",
        "test_acc_200ep": {"mean": 80.0, "std": 0.5},
    }
    assert results["random"]["published"] is None


def test_the_old_constants_read_the_registry():
    assert benchmark.DEFAULT_RUNS_FOR == {"bayesian": 2}
    assert benchmark.GREEDY_INITIAL_CELLS == registry.get("greedy").bench_initial_points == 10
    assert benchmark.PUBLISHED["cifar10"]["evolution"] == ("REA", 93.92, 0.30)
    assert set(benchmark.PUBLISHED["cifar10"]) == {"evolution", "reinforce", "random", "bayesian"}


# The command and the example.


def test_cli_writes_table_json_and_plot(table_path, tmp_path, capsys):
    out, png = tmp_path / "out.json", tmp_path / "out.png"
    code = cli.main(
        [
            "bench",
            "nasbench201",
            "--table",
            table_path,
            "--runs",
            "3",
            "--budget",
            "3000",
            "--strategies",
            "evolution,random",
            "--seed",
            "4",
            "--workers",
            "1",
            "--json",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "evolution" in printed and "random" in printed and "optimum" in printed
    assert "vs random ± se" in printed
    results = json.loads(out.read_text())
    assert results["budget_s"] == 3000 and results["runs"] == 3
    assert results["table"].endswith("synthetic.csv")
    for name in ("evolution", "random"):
        s = results["strategies"][name]
        assert s["runs"] == 3
        for key in ("valid_acc_200ep", "test_acc_200ep"):
            assert set(s[key]) == {"mean", "std"} and 40 < s[key]["mean"] < 100
        assert s["queries"]["mean"] > 10
        # Not the CIFAR-10 table: no published numbers to compare with.
        assert s["published"] is None
    evo, rnd = results["strategies"]["evolution"], results["strategies"]["random"]
    assert evo["vs_random"]["difference"] == pytest.approx(
        evo["test_acc_200ep"]["mean"] - rnd["test_acc_200ep"]["mean"]
    )
    assert "vs_random" not in rnd
    assert png.stat().st_size > 10_000


def test_cli_reports_a_bad_table_in_one_line(tmp_path, capsys):
    code = cli.main(["bench", "nasbench201", "--table", str(tmp_path / "missing.csv")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "table not found" in err[0]


def test_cli_parses_oracle_arguments_and_run_caps(table_path, tmp_path):
    out = tmp_path / "o.json"
    code = cli.main(
        [
            "bench",
            "nasbench201",
            "--table",
            table_path,
            "--runs",
            "3",
            "--budget",
            "2000",
            "--strategies",
            "evolution,random,bayesian",
            "--runs-for",
            "random=1,bayesian=0",
            "--workers",
            "1",
            "--json",
            str(out),
            "--oracle-arg",
            "evolution.population_size=4",
            "--oracle-arg",
            "evolution.sample_size=2",
        ]
    )
    assert code == 0
    results = json.loads(out.read_text())
    assert results["strategies"]["random"]["runs"] == 1
    assert results["strategies"]["evolution"]["runs"] == 3
    assert "bayesian" not in results["strategies"]
    code = cli.main(
        [
            "bench",
            "nasbench201",
            "--table",
            table_path,
            "--runs",
            "1",
            "--strategies",
            "evolution",
            "--oracle-arg",
            "evolution.sample_size=50",
            "--workers",
            "1",
        ]
    )
    assert code == 2


@pytest.mark.slow
def test_example_runs_in_two_processes_like_in_one(table_path, tmp_path, monkeypatch, capsys):
    out = tmp_path / "example.json"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "benchmark_nasbench201.py",
            "--table",
            table_path,
            "--runs",
            "2",
            "--budget",
            "1500",
            "--json",
            str(out),
        ],
    )
    runpy.run_path(os.path.join(REPO, "examples", "benchmark_nasbench201.py"), run_name="__main__")
    assert "greedy" in capsys.readouterr().out
    parallel = json.loads(out.read_text())["strategies"]
    serial = benchmark.run_benchmark(
        table_path, strategies=list(parallel), runs=2, budget_s=1500.0, seed=0, workers=1
    )["strategies"]
    for name in parallel:
        for key in ("valid_acc_200ep", "test_acc_200ep", "queries"):
            assert parallel[name][key] == serial[name][key], (name, key)
