"""The search report on real tiny searches: ours, KerasTuner's, side by side."""

import base64
import fcntl
import os
import re
import shutil
import subprocess

import keras
import keras_tuner
import numpy as np
import pytest

from nasplug import report
from nasplug.cli import main
from nasplug.oracles import make_oracle


def _build(hp):
    model = keras.Sequential([keras.Input((4,))])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(
            keras.layers.Dense(
                hp.Choice(f"units_{i}", [2, 8, 32]), activation=hp.Choice("act", ["relu", "tanh"])
            )
        )
    model.add(keras.layers.Dense(2, activation="softmax"))
    # Eager execution: tracing graphs costs more than these few steps.
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        run_eagerly=True,
    )
    return model


PROJECTS = [("reinforce", 4), ("qlearning", 6), ("random", 3)]


def _tuner(root, name, max_trials):
    if name == "random":
        return keras_tuner.RandomSearch(
            _build,
            objective="val_accuracy",
            max_trials=max_trials,
            seed=2,
            directory=str(root),
            project_name=name,
        )
    return keras_tuner.Tuner(
        oracle=make_oracle(name, objective="val_accuracy", max_trials=max_trials, seed=2),
        hypermodel=_build,
        directory=str(root),
        project_name=name,
    )


@pytest.fixture(scope="module")
def searches(tmp_path_factory):
    """Three real searches in one directory: REINFORCE, Q-learning and KerasTuner's random.

    Under pytest-xdist the searches run once, in whichever worker comes first; the others
    wait for them and reload the tuners from disk, as KerasTuner does on a restart.
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    root = base / "nasplug_report_searches"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / ".done").exists():
            rng = np.random.default_rng(0)
            x = rng.normal(size=(60, 4)).astype("float32")
            y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
            for name, max_trials in PROJECTS:
                tuner = _tuner(root, name, max_trials)
                tuner.search(x, y, epochs=1, validation_split=0.3, verbose=0)
            (root / ".done").write_text("")
        fcntl.flock(lock, fcntl.LOCK_UN)
    tuners = {name: _tuner(root, name, max_trials) for name, max_trials in PROJECTS}
    return root, tuners


@pytest.fixture(scope="module")
def page(searches, tmp_path_factory):
    root, _ = searches
    return report.write_report(root, output=tmp_path_factory.mktemp("page") / "report.html")


@pytest.mark.slow
def test_reads_every_project_with_its_trials_and_objective(searches):
    root, tuners = searches
    projects = {p.name: p for p in report.load_search(root)}
    assert set(projects) == {"reinforce", "qlearning", "random"}
    assert projects["reinforce"].strategy == "reinforce"
    assert projects["qlearning"].strategy == "qlearning"
    for name, project in projects.items():
        oracle = tuners[name].oracle
        assert project.objective == "val_accuracy" and project.direction == "max"
        assert [t["trial_id"] for t in project.trials] == list(oracle.end_order)
        assert [t["score"] for t in project.trials] == pytest.approx(
            [oracle.trials[i].score for i in oracle.end_order]
        )
        assert project.best()["score"] == pytest.approx(oracle.get_best_trials(1)[0].score)


@pytest.mark.slow
def test_model_sizes_come_from_the_checkpoints(searches):
    root, tuners = searches
    project = next(p for p in report.load_search(root) if p.name == "random")
    oracle = tuners["random"].oracle
    for trial in project.trials:
        hp = oracle.trials[trial["trial_id"]].hyperparameters
        assert trial["params"] == _build(hp).count_params()


@pytest.mark.slow
def test_reinforce_replay_ends_at_the_saved_policy(searches):
    root, tuners = searches
    project = next(p for p in report.load_search(root) if p.name == "reinforce")
    history, exact = report.replay_controller(project)
    assert exact
    oracle = tuners["reinforce"].oracle
    assert (
        set(history)
        == {hp.name for hp in oracle.space.decisions if len(oracle.space.choices(hp)) > 1}
        >= {"layers", "units_0", "act"}
    )
    for name, (labels, probabilities) in history.items():
        assert probabilities.shape[1] == len(labels)
        np.testing.assert_allclose(probabilities[0], 1 / len(labels))  # uniform before learning
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
        np.testing.assert_allclose(
            probabilities[-1], oracle.probabilities(_hp(oracle, name)), atol=1e-9
        )
    learned = sum(
        1
        for i in oracle.end_order[: project.state["observed"]]
        if oracle.trials[i].score is not None
    )
    assert len(next(iter(history.values()))[1]) == learned + 1


def _hp(oracle, name):
    return next(hp for hp in oracle.space.decisions if hp.name == name)


@pytest.mark.slow
def test_qlearning_preferences_are_read_from_the_q_table(searches):
    root, tuners = searches
    project = next(p for p in report.load_search(root) if p.name == "qlearning")
    prefs = report.controller_preferences(project)
    q_values = tuners["qlearning"].oracle.q_values
    start = q_values["<start>"]
    labels, values, kind = prefs["layers"]
    assert kind == "mean Q" and labels == ["1", "2"]
    # "layers" is the first decision: only the start state chooses it.
    np.testing.assert_allclose(values, [start.get(f"layers={i}", 0.5) for i in range(2)])


def test_importance_finds_the_hyperparameter_that_drives_the_score():
    rng = np.random.default_rng(1)
    rows = [
        {
            "width": int(rng.choice([8, 16, 32])),
            "act": str(rng.choice(["relu", "tanh"])),
            "lr": float(rng.uniform(1e-3, 1e-1)),
        }
        for _ in range(40)
    ]
    scores = [np.log2(r["width"]) + rng.normal(0, 0.05) for r in rows]
    importance, oob = report.hyperparameter_importance(["width", "act", "lr"], rows, scores)
    assert importance["width"] > 0.8
    assert importance["act"] < 0.1 and importance["lr"] < 0.1
    assert oob > 0.8
    none, reason = report.hyperparameter_importance(["width"], rows[:3], scores[:3])
    assert none is None and "at least 4" in reason


def test_pareto_front():
    points = [(100, 0.9), (50, 0.8), (200, 0.95), (60, 0.7), (300, 0.94), (50, 0.85)]
    assert report.pareto_front(points, "max") == [5, 0, 2]
    assert report.pareto_front([(10, 1.0), (20, 0.5)], "min") == [0, 1]


@pytest.mark.slow
def test_html_is_self_contained_with_every_section(searches, page):
    _, tuners = searches
    text = open(page, encoding="utf-8").read()
    for heading in (
        "Score by trial",
        "Score against model size",
        "Which decisions mattered",
        "Controller preferences: qlearning",
        "How the choices moved: qlearning",
        "Controller preferences: reinforce",
        "How the controller&#x27;s preferences moved: reinforce",
        "Best architecture",
        "Layers with weights",
    ):
        assert heading in text, heading
    assert "the replay ends exactly at the saved state" in text
    # Nothing is fetched from elsewhere: every image is an embedded PNG.
    assert not re.search(r"(src|href)=\"(?!data:)", text)
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    # scores, size, importance (drawn only when the forest explains the scores), 2 per RL
    # strategy
    importance = "No importance bars" not in text
    assert len(images) == 6 + importance
    assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    best = max(t.oracle.get_best_trials(1)[0].score for t in tuners.values())
    assert f"= <b>{best:.4g}</b>" in text


@pytest.mark.slow
def test_command_writes_the_report_and_errors_are_one_line(searches, tmp_path, capsys):
    root, _ = searches
    single = root / "random"
    assert main(["report", str(single), "-o", str(tmp_path / "one.html")]) == 0
    assert "Report written to" in capsys.readouterr().out
    assert "Score against model size" in (tmp_path / "one.html").read_text()

    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "Search directory not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "No KerasTuner search found" in capsys.readouterr().err
    broken = tmp_path / "broken"
    shutil.copytree(single, broken)
    (broken / "oracle.json").write_text('{"ongoing_trials": {')
    assert main(["report", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "oracle.json is not valid JSON" in err and err.count("\n") == 1


CHROMIUM = (
    shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
)


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)"
)
def test_report_renders_in_headless_chromium(page, tmp_path):
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1000,2600",
            f"--screenshot={shot}",
            f"file://{os.path.abspath(page)}",
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (2600, 1000)
    # The plots drew: many pixels of the first plot colour (matplotlib blue, #1f77b4),
    # which only the embedded PNGs contain.
    blue = np.abs(pixels - [31, 119, 180]).sum(axis=2) < 40
    assert blue.sum() > 1000
    # And the text: dark pixels over a good part of the page height.
    dark_rows = (pixels.sum(axis=2) < 200).any(axis=1)
    assert dark_rows.sum() > 300


def test_minimised_objective_failures_and_importance_on_a_synthetic_search(tmp_path):
    """Evolution through KerasTuner's Oracle API on a known loss (no training needed)."""
    import math

    from tests.support.synthetic import cell_space, drive

    oracle = make_oracle(
        "evolution",
        objective=keras_tuner.Objective("loss", "min"),
        max_trials=40,
        seed=0,
        hyperparameters=cell_space(),
        max_consecutive_failed_trials=10,
    )
    drive(
        oracle,
        lambda v: abs(math.log2(v["width"]) - 5) + 0.01 * v["depth"],
        40,
        tmp_path,
        metric="loss",
        fail=lambda v: v["width"] == 16,
    )
    [project] = report.load_search(tmp_path)
    assert project.objective == "loss" and project.direction == "min"
    assert project.strategy == "evolution"
    scored = project.scored
    assert project.best()["score"] == min(t["score"] for t in scored)
    failed = [t for t in project.trials if t["status"] == "FAILED"]
    names, rows, rewards, _ = report.trial_table([project])
    importance, _ = report.hyperparameter_importance(names, rows, rewards)
    assert max(importance, key=importance.get) == "width"
    text = open(report.write_report(tmp_path), encoding="utf-8").read()
    assert "loss (min)" in text
    assert failed  # the search is deterministic: seed 0 proposes some failing trials
    assert "Failed trials" in text and text.count("synthetic failure") == len(failed)
    # No checkpoints and no parameter metric: the size plot says why it is missing.
    assert "No model sizes found" in text


@pytest.mark.slow
def test_reads_an_autokeras_project(tmp_path):
    """AutoKeras's layout: a project per task, its best model saved inside."""
    import autokeras as ak
    from sklearn.datasets import load_wine

    import nasplug.autokeras

    data = load_wine()
    classifier = ak.StructuredDataClassifier(
        tuner=nasplug.autokeras.EvolutionTuner,
        max_trials=2,
        directory=str(tmp_path),
        seed=1,
        overwrite=True,
    )
    classifier.fit(data.data.astype("float32"), data.target, epochs=1, verbose=0)
    [project] = report.load_search(tmp_path)
    assert project.name == "structured_data_classifier"
    assert project.strategy == "evolution"
    assert project.objective == "val_accuracy" and project.direction == "max"  # its default
    assert len(project.scored) == 2
    assert all(t["params"] for t in project.scored)  # from AutoKeras's checkpoints
    text = open(report.write_report(tmp_path), encoding="utf-8").read()
    assert "Saved model best_model.keras" in text
    assert "structured_data_block_1/dense_block_1/num_layers" in text


def test_predictor_is_labelled_as_itself_with_no_controller_panel(tmp_path):
    """Regularized evolution with a surrogate: its own name, the evolution panels."""
    from tests.support.synthetic import cell_score, cell_space, drive

    oracle = make_oracle(
        "predictor",
        objective=keras_tuner.Objective("score", "max"),
        max_trials=12,
        seed=0,
        hyperparameters=cell_space(),
        population_size=4,
        sample_size=2,
        candidates=5,
    )
    drive(oracle, cell_score, 12, tmp_path)
    [project] = report.load_search(tmp_path)
    assert project.strategy == "predictor"
    assert len(project.scored) == 12
    assert report.controller_preferences(project) == {}
    text = open(report.write_report(tmp_path), encoding="utf-8").read()
    assert "<td>predictor</td>" in text
    assert "Which decisions mattered" in text and "Score by trial" in text
    assert "Controller preferences" not in text and "How the choices moved" not in text


@pytest.mark.slow
def test_controller_panels_follow_the_saved_state_not_its_strategy_name(searches, tmp_path):
    """A REINFORCE state that does not name its strategy (as saved before names were) still
    gets the policy's panels and an exact replay."""
    import json

    root, _ = searches
    unnamed = tmp_path / "unnamed"
    shutil.copytree(root / "reinforce", unnamed)
    state = json.loads((unnamed / "oracle.json").read_text())
    del state["strategy"]
    (unnamed / "oracle.json").write_text(json.dumps(state))
    text = open(report.write_report(unnamed), encoding="utf-8").read()
    assert "softmax of its logits" in text
    assert "How the controller&#x27;s preferences moved" in text
    assert "the replay ends exactly at the saved state" in text


def test_a_constrained_pareto_search_reports_its_first_objective_and_the_kept_network(tmp_path):
    """The estimators' trials also carry "score", a metric KerasTuner records as minimised."""
    from tests.support.synthetic import cell_score, cell_space, drive

    def metrics(values):
        # Convolutions make a cell better and larger: accuracy and size are at odds.
        convs = sum(
            values[f"cell{c}_{e}"].startswith("conv") for c in range(values["depth"]) for e in "ab"
        )
        size = float(values["width"] * (1 + convs))
        return {"score": cell_score(values), "accuracy": cell_score(values), "params": size}

    oracle = make_oracle(
        "evolution",
        objective=[keras_tuner.Objective("accuracy", "max"), "params"],
        pareto=True,
        max_params=100,
        max_trials=20,
        seed=0,
        hyperparameters=cell_space(),
    )
    drive(oracle, metrics, 20, tmp_path)
    [project] = report.load_search(tmp_path)
    assert (project.objective, project.direction) == ("accuracy", "max")
    feasible = [t for t in project.scored if t["metrics"]["params"] <= 100]
    infeasible = [t for t in project.scored if t["metrics"]["params"] > 100]
    assert feasible and infeasible
    # The best trial meets the size limit, whatever a larger network scored.
    assert project.best()["score"] == max(t["score"] for t in feasible)
    # An estimator may keep the front's other end, the smallest network.
    kept = oracle.pareto_front()[-1].trial_id
    assert kept != project.best()["trial_id"]
    text = open(report.write_report(tmp_path, chosen=kept), encoding="utf-8").read()
    # Shown as its project's best architecture (numbered as the progress line numbers it).
    assert f"(folder trial_{kept})" in text
    assert f"★ {kept}" in text


def test_an_ensemble_lists_one_network_with_its_parameters(tmp_path):
    """A model averaging networks of one architecture: their layers once, with sizes."""
    import json

    inputs = keras.Input((4,), name="x")
    inner = keras.Input((4,), name="features")
    members = []
    for i in range(3):
        member_in = keras.Input((4,), name="rows")
        hidden = keras.layers.Dense(8, activation="relu", name="hidden")(member_in)
        members.append(
            keras.Model(member_in, keras.layers.Dense(2, name="out")(hidden), name=f"member_{i}")
        )
    averaged = keras.layers.Average(name="average")([m(inner) for m in members])
    ensemble = keras.Model(inner, averaged, name="ensemble")
    model = keras.Model(inputs, ensemble(keras.layers.Rescaling(2.0, name="scale")(inputs)))
    path = tmp_path / "model.keras"
    model.save(path)

    archive = report.load.read_keras_archive(path)
    assert archive["parameters"] == model.count_params() == 3 * (4 * 8 + 8 + 8 * 2 + 2)
    assert archive["inputs"] == 1
    [group] = archive["ensembles"]
    assert group["members"] == ["member_0", "member_1", "member_2"]
    assert group["shown"] == "member_0" and group["parameters"] == 58
    rows = {name: (kind, count) for name, kind, _, count in archive["layers"]}
    assert rows["ensemble/member_0/hidden"] == ("Dense", "40")
    assert rows["ensemble/member_0/out"] == ("Dense", "18")
    assert not any("member_1" in name or "member_2" in name for name in rows)

    # `nasplug search` writes beside its model what the scores are.
    described = {
        "format": 2,
        "task": "classification",
        "table": {},
        "validation": "3-fold cross-validated accuracy",
        "test_score": 0.875,
        "test_metric": "accuracy",
        "test_rows": 36,
        "ensemble_size": 3,
    }
    (tmp_path / "model.json").write_text(json.dumps(described))
    search = tmp_path / "search"
    oracle = make_oracle(
        "random",
        objective=keras_tuner.Objective("score", "max"),
        max_trials=2,
        seed=0,
        hyperparameters=_cell_space(),
    )
    _drive(oracle, search)
    text = open(report.write_report(search, model=path), encoding="utf-8").read()
    assert "Each trial's score is its 3-fold cross-validated accuracy." in text
    assert "test accuracy: <b>0.875</b> on 36 rows held out from the search" in text
    assert "averages the outputs of 3 networks retrained" in text
    assert "it averages the outputs of 3 networks of one architecture in ensemble" in text
    assert text.count("<td>ensemble/member_0/hidden</td><td>Dense</td>") == 1
    assert "member_1/hidden" not in text


def _cell_space():
    from tests.support.synthetic import cell_space

    return cell_space()


def _drive(oracle, directory, n_trials=None, score=None):
    from tests.support.synthetic import cell_score, drive

    drive(oracle, score or cell_score, n_trials or oracle.max_trials, directory)


def test_the_final_population_holds_the_last_child(tmp_path):
    """The oracle learns a trial before its next proposal: its saved population lacks
    the trials that ended after the last one; the report adds them as evolution would."""
    oracle = make_oracle(
        "evolution",
        objective=keras_tuner.Objective("score", "max"),
        max_trials=9,
        seed=0,
        hyperparameters=_cell_space(),
        population_size=3,
        sample_size=2,
    )
    _drive(oracle, tmp_path)
    [project] = report.load_search(tmp_path)
    ended = [i for i in project.state["end_order"] if i in {t["trial_id"] for t in project.scored}]
    assert ended[-1] not in project.state["population"]
    family = report.lineage(project)
    # Aging: the population is the latest `population_size` completed trials.
    assert family["population"] == ended[-3:]
    assert ended[-1] in [c["child"]["trial_id"] for c in family["children"]]


def test_a_pareto_population_loses_its_worst_ranked_member(tmp_path):
    from tests.support.synthetic import cell_score

    def metrics(values):
        return {"score": cell_score(values), "params": float(values["width"] * values["depth"])}

    oracle = make_oracle(
        "evolution",
        objective=[keras_tuner.Objective("score", "max"), "params"],
        pareto=True,
        max_trials=12,
        seed=1,
        hyperparameters=_cell_space(),
        population_size=4,
        sample_size=2,
    )
    _drive(oracle, tmp_path, score=metrics)
    [project] = report.load_search(tmp_path)
    # What the oracle itself holds once it has learned every ended trial.
    oracle._observe_finished()
    assert report.lineage(project)["population"] == oracle.population
    assert project.state["population"] != oracle.population


def test_a_trial_the_budget_cut_is_marked_and_loses_a_tie(tmp_path):
    results = iter([{"score": 0.8, "cut_by_budget": 1.0}, {"score": 0.8}])
    oracle = make_oracle(
        "random",
        objective=keras_tuner.Objective("score", "max"),
        max_trials=2,
        seed=0,
        hyperparameters=_cell_space(),
    )
    _drive(oracle, tmp_path, score=lambda values: next(results))
    [project] = report.load_search(tmp_path)
    assert [t["cut_by_budget"] for t in sorted(project.trials, key=lambda t: t["number"])] == [
        True,
        False,
    ]
    assert project.best()["number"] == 2
    text = open(report.write_report(tmp_path), encoding="utf-8").read()
    assert "2 completed (1 cut short by the time budget)" in text
