"""The three strategies through KerasTuner's Oracle API, on synthetic objectives."""

import ast
import json
import os
import subprocess
import sys

import keras_tuner as kt
import numpy as np
import pytest

from nasplug import proxies
from nasplug.oracles import EvolutionOracle, QLearningOracle, ReinforceOracle, make_oracle, registry
from nasplug.space import SearchSpace
from tests.support.synthetic import cell_score, cell_space, drive, hashed_proxy

# The contract every strategy of ours keeps, checked for each one the registry holds.
# Strategies searching on a supernet need a tuner's data (tests/oneshot/).
ORACLES = [
    s.oracle_class()
    for s in registry.strategies()
    if s.is_nasplug and not getattr(s.oracle_class(), "needs_supernet", False)
]
MAX = kt.Objective("score", "max")


def make(cls, **kwargs):
    kwargs.setdefault("objective", MAX)
    kwargs.setdefault("hyperparameters", cell_space())
    oracle = cls(**kwargs)
    # The proxy search scores candidates; with uninformative scores it is random search.
    proxies.give_scorer(oracle, hashed_proxy)
    return oracle


def key(values):
    return tuple(sorted(values.items()))


@pytest.mark.parametrize("cls", ORACLES)
def test_every_proposal_is_valid_active_and_new(cls, tmp_path):
    oracle = make(cls, max_trials=60, seed=3)
    proposed = drive(oracle, cell_score, 60, tmp_path)
    assert len(proposed) == 60
    space = SearchSpace(cell_space())
    for values in proposed:
        assert values == space.active(values), "inactive or missing values proposed"
        for hp in space.decisions:
            if hp.name in values:
                assert space.is_valid(hp, values[hp.name])
                assert type(values[hp.name]) in (int, float, str, bool)
    assert len({key(v) for v in proposed}) == 60


@pytest.mark.parametrize("cls", ORACLES)
def test_exhausted_space_stops_cleanly(cls, tmp_path):
    hp = kt.HyperParameters()
    hp.Choice("a", [1, 2, 3])
    with hp.conditional_scope("a", [3]):
        hp.Boolean("b")
    oracle = make(cls, max_trials=20, hyperparameters=hp, seed=0)
    proposed = drive(oracle, lambda v: float(v["a"]), 20, tmp_path)
    assert sorted(key(v) for v in proposed) == sorted(
        key(v) for v in [{"a": 1}, {"a": 2}, {"a": 3, "b": False}, {"a": 3, "b": True}]
    )
    assert oracle.create_trial("late").status == "STOPPED"


@pytest.mark.parametrize("cls", ORACLES)
def test_warm_start_values_come_first(cls, tmp_path):
    first = {
        "depth": 2,
        "cell0_a": "conv3x3",
        "cell0_b": "skip",
        "cell1_a": "pool",
        "cell1_b": "none",
        "width": 64,
        "lr": 0.01,
    }
    partial = {"depth": 1}
    oracle = make(cls, max_trials=5, seed=1, initial_hps=[first, partial])
    proposed = drive(oracle, cell_score, 5, tmp_path)
    assert proposed[0] == first
    defaults = SearchSpace(cell_space()).active({"depth": 1})
    assert proposed[1] == defaults


@pytest.mark.parametrize("cls", ORACLES)
def test_state_is_json_safe_and_resume_is_exact(cls, tmp_path):
    def run(directory, stop_after):
        oracle = make(cls, max_trials=30, seed=11)
        return oracle, drive(oracle, cell_score, stop_after, directory)

    _, uninterrupted = run(tmp_path / "straight", 30)

    first, before = run(tmp_path / "resumed", 12)
    state = first.get_state()
    assert json.loads(json.dumps(state)) == state
    resumed = make(cls, max_trials=30, seed=999)  # the seed comes back from the state
    resumed._set_project_dir(str(tmp_path / "resumed"), "project")
    resumed.reload()
    after = drive(resumed, cell_score, 18, tmp_path / "resumed")
    assert before + after == uninterrupted


@pytest.mark.parametrize("cls", ORACLES)
def test_concurrent_trials_never_idle_and_never_duplicate(cls, tmp_path):
    oracle = make(cls, max_trials=40, seed=5)
    proposed = drive(oracle, cell_score, 40, tmp_path, concurrency=4)
    assert len(proposed) == 40
    assert len({key(v) for v in proposed}) == 40


@pytest.mark.parametrize("cls", ORACLES)
def test_failed_trials_are_not_learned_from(cls, tmp_path):
    def fails(values):
        return values["width"] == 64  # the best width, so learning from it would show

    oracle = make(cls, max_trials=40, seed=2, max_consecutive_failed_trials=10)
    drive(oracle, cell_score, 40, tmp_path, fail=fails)
    oracle._observe_finished()  # learning is lazy: take in the last trial too
    failed = [t for t in oracle.trials.values() if t.status == "FAILED"]
    assert failed
    if isinstance(oracle, EvolutionOracle):
        assert not {t.trial_id for t in failed} & set(oracle.population)
    if isinstance(oracle, QLearningOracle):
        # Documented: a failure is an episode with the lowest reward, outside the ranking.
        assert len(oracle._seen_rewards) == 40 - len(failed)
        # Only failing episodes pass through width=64 ("width=2"): whatever they did
        # next was learned as the lowest reward.
        after_failing = oracle.q_values.get("width=2", {})
        assert after_failing and max(after_failing.values()) < oracle.initial_q
    if isinstance(oracle, ReinforceOracle):
        # The controller is exactly one that saw only the completed trials, in order:
        # a failure taken in (as any reward) would have moved it elsewhere.
        replayed = make(cls, max_trials=40, seed=2)
        replayed.trials = oracle.trials
        for trial_id in oracle.end_order:
            if oracle.trials[trial_id].status == "COMPLETED":
                replayed.observe(oracle.trials[trial_id])
        assert replayed.logits == oracle.logits
        assert replayed.baseline == oracle.baseline
        # Only completed trials are tallied: a failure gives the controller no reward.
        assert oracle.tallies.total[0] == 40 - len(failed) > 1


@pytest.mark.parametrize("cls", ORACLES)
def test_minimisation_is_honoured(cls, tmp_path):
    def run(direction):
        oracle = make(cls, max_trials=60, seed=4, objective=kt.Objective("loss", direction))
        sign = -1.0 if direction == "min" else 1.0
        proposed = drive(
            oracle, lambda v: sign * cell_score(v), 60, tmp_path / direction, metric="loss"
        )
        return np.mean([cell_score(v) for v in proposed[-20:]])

    # Minimising the negated score must go where maximising the score goes.
    assert run("min") == pytest.approx(run("max"))


@pytest.mark.parametrize("cls", ORACLES)
def test_multi_objective(cls, tmp_path):
    objective = [kt.Objective("score", "max"), kt.Objective("size", "min")]
    oracle = make(cls, max_trials=10, seed=0, objective=objective)
    oracle.verbose = 0
    oracle._set_project_dir(str(tmp_path), "project")
    for _ in range(10):
        trial = oracle.create_trial("tuner0")
        values = trial.hyperparameters.values
        oracle.update_trial(
            trial.trial_id, {"score": cell_score(values), "size": float(values["width"])}
        )
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    best = oracle.get_best_trials(1)[0]
    assert best.score == min(t.score for t in oracle.trials.values())


@pytest.mark.parametrize("cls", ORACLES)
def test_space_that_grows_during_the_search(cls, tmp_path):
    oracle = make(cls, max_trials=12, seed=0, hyperparameters=None, objective=MAX)
    oracle.verbose = 0
    oracle._set_project_dir(str(tmp_path), "project")
    seen = []
    for _ in range(12):
        trial = oracle.create_trial("tuner0")
        hp = trial.hyperparameters
        # The hypermodel declares its space as it builds, a branch appearing later on.
        block = hp.Choice("block", ["dense", "conv"])
        if block == "conv":
            with hp.conditional_scope("block", ["conv"]):
                filters = hp.Choice("filters", [8, 16, 32])
        units = hp.Int("units", 8, 64, step=8)
        seen.append(dict(hp.values))
        score = units / 64 + (0.5 if block == "conv" and filters == 32 else 0.0)
        oracle.update_trial(trial.trial_id, {"score": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert {hp.name for hp in oracle.hyperparameters.space} == {"block", "filters", "units"}
    assert any(v.get("block") == "conv" for v in seen[1:])
    assert len({key(v) for v in seen}) == 12


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["evolution", "reinforce", "qlearning", "predictor"])
def test_learning_strategies_beat_random_search_on_average(strategy, tmp_path):
    """Seeded statistical check: mean best-found over 10 seeds at 40 trials."""

    def mean_best(name):
        best = []
        for seed in range(10):
            oracle = make_oracle(
                name,
                objective=MAX,
                max_trials=40,
                hyperparameters=cell_space(),
                seed=1000 * seed + 7,
            )
            proposed = drive(oracle, cell_score, 40, tmp_path / f"{name}{seed}")
            best.append(max(cell_score(v) for v in proposed))
        return np.mean(best), np.std(best) / np.sqrt(len(best))

    ours, ours_se = mean_best(strategy)
    random, random_se = mean_best("random")
    # At least two standard errors apart, not just ahead.
    assert ours - random > 2 * np.hypot(ours_se, random_se), (ours, random)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_policy_of_qlearning_learns_the_rewarded_choices(seed, tmp_path):
    hp = kt.HyperParameters()
    hp.Choice("a", list(range(10)))
    hp.Choice("b", list(range(10)))
    oracle = make(
        QLearningOracle,
        max_trials=40,
        hyperparameters=hp,
        seed=seed,
        final_epsilon=0.0,
        exploration_trials=25,
    )
    proposed = drive(oracle, lambda v: float(v["a"] + v["b"]), 40, tmp_path)
    oracle.collisions = 0
    greedy = oracle.propose()
    # The greedy episode sits in the top 6% of the 100 configurations...
    assert greedy["a"] + greedy["b"] >= 16
    # ...though a random sample of the same size rarely gets there.
    assert np.mean([v["a"] + v["b"] for v in proposed[:25]]) < 13


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (EvolutionOracle, {"population_size": 0}, "population_size"),
        (EvolutionOracle, {"population_size": 3, "sample_size": 5}, "sample_size"),
        (ReinforceOracle, {"learning_rate": -1}, "learning_rate"),
        (ReinforceOracle, {"baseline_decay": 1.5}, "baseline_decay"),
        (QLearningOracle, {"discount": 2}, "discount"),
        (QLearningOracle, {"initial_epsilon": float("nan")}, "initial_epsilon"),
        (EvolutionOracle, {"initial_hps": {"depth": 1}}, "initial_hps"),
        (EvolutionOracle, {"initial_hps": [{"depth": [1]}]}, "initial_hps"),
        (ReinforceOracle, {"max_trials": 0}, "max_trials"),
        (QLearningOracle, {"seed": 1.5}, "seed"),
    ],
)
def test_bad_arguments_get_one_clear_error(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(cls, **kwargs)


def test_seed_zero_is_a_seed():
    a = make(EvolutionOracle, seed=0)
    b = make(EvolutionOracle, seed=0)
    assert a.seed == 0
    assert a.space.random_values(a._rng) == b.space.random_values(b._rng)


def test_corrupted_state_file_gets_an_error_naming_it(tmp_path):
    oracle = make(EvolutionOracle, max_trials=5, seed=0)
    drive(oracle, cell_score, 3, tmp_path)
    fname = tmp_path / "project" / "oracle.json"
    fname.write_text(fname.read_text()[:50])
    again = make(EvolutionOracle, max_trials=5, seed=0)
    again._set_project_dir(str(tmp_path), "project")
    with pytest.raises(RuntimeError, match="oracle.json is corrupted or truncated"):
        again.reload()
    assert len(fname.read_text()) == 50, "the damaged file must be left for the user"


def test_state_of_another_strategy_is_refused_clearly(tmp_path):
    drive(make(EvolutionOracle, max_trials=5, seed=0), cell_score, 3, tmp_path)
    other = make(ReinforceOracle, max_trials=5, seed=0)
    other._set_project_dir(str(tmp_path), "project")
    with pytest.raises(RuntimeError, match="another strategy"):
        other.reload()


@pytest.mark.parametrize("cls", ORACLES)
def test_consecutive_failures_stop_with_the_last_error_and_a_whole_state(cls, tmp_path):
    oracle = make(cls, max_trials=10, seed=0, max_consecutive_failed_trials=2)
    with pytest.raises(RuntimeError, match="synthetic failure"):
        drive(oracle, cell_score, 10, tmp_path, fail=lambda values: True)
    assert oracle.create_trial("another_worker").status == "STOPPED"
    assert not oracle.ongoing_trials
    saved = json.loads((tmp_path / "project" / "oracle.json").read_text())
    assert saved["end_order"] == ["00", "01"] or saved["end_order"] == ["0", "1"]
    assert saved["ongoing_trials"] == {}


# The package's layout: no module of nasplug.oracles imports another that imports it back.

ORACLES_DIR = os.path.dirname(os.path.abspath(registry.__file__))
ORACLE_MODULES = sorted(
    name[:-3] for name in os.listdir(ORACLES_DIR) if name.endswith(".py") and name != "__init__.py"
)


def _sibling_imports(module):
    """The modules of nasplug.oracles that `module` imports, eagerly or inside a function."""
    with open(os.path.join(ORACLES_DIR, f"{module}.py")) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "nasplug.oracles":
            found.update(alias.name for alias in node.names if alias.name in ORACLE_MODULES)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "nasplug.oracles."
        ):
            found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[2]
                for alias in node.names
                if alias.name.startswith("nasplug.oracles.")
            )
    return found - {module}


def test_no_module_of_the_oracles_imports_itself_back():
    graph = {module: _sibling_imports(module) for module in ORACLE_MODULES}
    assert "registry" in graph["base"] and not graph["registry"], graph
    assert "base" in graph["screening"] and "_objectives" in graph["base"]

    def cycle_from(module, path):
        if module in path:
            return path[path.index(module) :] + [module]
        for imported in sorted(graph[module]):
            found = cycle_from(imported, path + [module])
            if found:
                return found
        return None

    for module in ORACLE_MODULES:
        assert cycle_from(module, []) is None, (
            f"import cycle: {' -> '.join(cycle_from(module, []))}"
        )


@pytest.mark.slow
def test_every_oracle_module_imports_first_on_its_own():
    # Each module is imported before any other of nasplug's, as a fresh interpreter would;
    # Keras stays loaded between them, which only saves time.
    script = (
        "import importlib, sys\n"
        f"for name in {ORACLE_MODULES!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'nasplug']:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module('nasplug.oracles.' + name)\n"
        "    print(name)\n"
    )
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ORACLE_MODULES
