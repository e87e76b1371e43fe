"""Resuming searches: a real Ctrl-C (SIGINT) to a real `nasplug search` and a real script.

Each interrupted search is run again and compared, trial by trial, with the same search
run straight through. A helper (`holding.py`) holds one trial at the end of its first
epoch and writes a marker file, so the signal strikes mid-trial whatever the machine's
speed; the tests watch files, they never sleep a fixed time.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import load_wine

from nasplug.sklearn import resume
from tests.support import HOLDING, REPO

NASPLUG = [sys.executable, "-c", "import sys; from nasplug.cli import main; sys.exit(main())"]
# A search's project inside an output directory of `nasplug search`.
PROJECT = os.path.join("search", resume.PROJECT_NAME)
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def _env():
    env = dict(os.environ)
    # The command line's own default is under test, not the one the test run exports.
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(command, cwd):
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _interrupt_when_held(process, marker, timeout=600):
    """Sends SIGINT once the held trial's marker exists; returns (status, out, err)."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(marker):
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the search ended before its trial was held:\n{out}\n{err}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the held trial never started")
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def _finish(process, timeout=900):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, out + err
    return out, err


def _live_values(hyperparameters):
    """A trial's values of the decisions its network had (with KerasTuner's own).

    The values of inactive decisions (a 2-layer network's third width) shape nothing; a
    trial run again after an interruption may hold the space's defaults for them.
    """
    import keras_tuner

    from nasplug.space import SearchSpace

    values = hyperparameters["values"]
    live = SearchSpace(keras_tuner.HyperParameters.from_config(hyperparameters)).active(values)
    live.update({k: v for k, v in values.items() if k.startswith("tuner/")})
    return live


def _trials(project_dir):
    """(trial_id, status, live values, score) of every trial, in trial order."""
    rows = []
    for name in sorted(os.listdir(project_dir)):
        path = os.path.join(project_dir, name, "trial.json")
        if name.startswith("trial_") and os.path.isfile(path):
            with open(path) as f:
                trial = json.load(f)
            rows.append(
                (
                    trial["trial_id"],
                    trial["status"],
                    _live_values(trial["hyperparameters"]),
                    trial["score"],
                )
            )
    return rows


def _oracle_state(project_dir):
    with open(os.path.join(project_dir, "oracle.json")) as f:
        return json.load(f)


@pytest.mark.slow
def test_nasplug_search_interrupted_by_ctrl_c_resumes_as_if_never_stopped(tmp_path):
    frame = load_wine(as_frame=True).frame.sample(120, random_state=0)
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    frame.to_csv(tmp_path / "wine.csv", index=False)
    args = [
        "search",
        "wine.csv",
        "--target",
        "target",
        "--strategy",
        "reinforce",
        "--max-trials",
        "3",
        "--epochs",
        "1",
        "--seed",
        "3",
        # One refit, not the five `auto` averages after cross-validated trials: the
        # refit's seeds are what is compared; five would cost four more trainings a run.
        "--ensemble-size",
        "1",
        "--quiet",
    ]
    # The uninterrupted search runs beside the interrupted one (two cores).
    straight = _start(NASPLUG + args + ["--output", "straight"], tmp_path)
    marker = tmp_path / "held"
    held = _start(
        [sys.executable, HOLDING, "1", str(marker), "nasplug"] + args + ["--output", "resumed"],
        tmp_path,
    )
    status, out, err = _interrupt_when_held(held, marker)

    # One line saying how to resume, no traceback, the shell's status for SIGINT.
    assert status == 130, out + err
    assert err.splitlines() == [
        f"nasplug search: interrupted: 1 of 3 trials done, saved in "
        f"{os.path.join('resumed', 'search')}; run the same command again to resume (a trial "
        "cut short runs again)."
    ]
    project = tmp_path / "resumed" / PROJECT
    state = _oracle_state(project)
    assert state["end_order"] == ["0"] and state["ongoing_trials"] == {"tuner0": "1"}
    assert [(t[0], t[1]) for t in _trials(project)] == [("0", "COMPLETED"), ("1", "RUNNING")]
    assert not (tmp_path / "resumed" / "model.keras").exists()

    out, err = _finish(_start(NASPLUG + args + ["--output", "resumed"], tmp_path))
    assert "Resuming the search in resumed/search: 1 of 3 trials done" in out
    # TensorFlow's start-up lines are gone too (TF_CPP_MIN_LOG_LEVEL unset here).
    assert err == ""
    _finish(straight)

    resumed = _trials(project)
    expected = _trials(tmp_path / "straight" / PROJECT)
    assert [t[:3] for t in resumed] == [t[:3] for t in expected]
    assert [t[3] for t in resumed] == pytest.approx([t[3] for t in expected], abs=1e-12)
    assert all(t[1] == "COMPLETED" for t in resumed)
    # The interrupted trial ran again, once: it ended once.
    assert _oracle_state(project)["end_order"] == ["0", "1", "2"]
    # And the refit after it is the one an uninterrupted search makes.
    with open(tmp_path / "resumed" / "model.json") as f:
        resumed_model = json.load(f)
    with open(tmp_path / "straight" / "model.json") as f:
        straight_model = json.load(f)
    for key in ("best_params", "validation_score", "test_score"):
        assert resumed_model[key] == straight_model[key], key


SCRIPT = """
import sys

import numpy as np
from sklearn.datasets import load_breast_cancer

from nasplug import NASClassifier

X, y = load_breast_cancer(return_X_y=True)
X, y = X[:150], y[:150]
classifier = NASClassifier(
    max_trials=3, epochs=1, learning_rate=0.01, directory=sys.argv[1], random_state=4,
    ensemble_size=1,
)
classifier.fit(X, y)
np.save(sys.argv[1] + "/proba.npy", classifier.predict_proba(X))
print("best", classifier.best_trial_id_, classifier.best_score_)
"""


@pytest.mark.slow
def test_fit_interrupted_by_ctrl_c_resumes_as_if_never_stopped(tmp_path):
    (tmp_path / "search.py").write_text(SCRIPT)
    straight = _start([sys.executable, "search.py", "straight"], tmp_path)
    marker = tmp_path / "held"
    held = _start(
        [
            sys.executable,
            HOLDING,
            "1",
            str(marker),
            "search.py",
            "resumed",
        ],
        tmp_path,
    )
    status, out, err = _interrupt_when_held(held, marker)

    # Python code sees a KeyboardInterrupt, after the search was saved; its message
    # says how to resume.
    # (Python exits with status 1, not by SIGINT, for a subclass of KeyboardInterrupt.)
    assert status in (1, -signal.SIGINT, 128 + signal.SIGINT), err
    assert "Traceback" in err
    assert err.rstrip().splitlines()[-1] == (
        "nasplug.sklearn.resume.SearchInterrupted: Search interrupted: 1 of 3 trials done, "
        "saved in resumed; fit again with the same directory to resume (a trial cut short "
        "runs again)."
    )
    project = tmp_path / "resumed" / resume.PROJECT_NAME
    assert _oracle_state(project)["ongoing_trials"] == {"tuner0": "1"}

    resumed_out, _ = _finish(_start([sys.executable, "search.py", "resumed"], tmp_path))
    straight_out, _ = _finish(straight)
    resumed = _trials(project)
    expected = _trials(tmp_path / "straight" / resume.PROJECT_NAME)
    assert [t[:3] for t in resumed] == [t[:3] for t in expected]
    assert [t[3] for t in resumed] == pytest.approx([t[3] for t in expected], abs=1e-12)
    assert len(resumed) == 3 and all(t[1] == "COMPLETED" for t in resumed)
    assert resumed_out.splitlines()[-1] == straight_out.splitlines()[-1]
    np.testing.assert_allclose(
        np.load(tmp_path / "resumed" / "proba.npy"),
        np.load(tmp_path / "straight" / "proba.npy"),
        atol=1e-6,
    )


# ------------------------------------------------------------------ in one process


@pytest.fixture(scope="module")
def tiny_defaults():
    # Scored on one held-out part (`tiny`'s cv=None): the rows would otherwise be
    # cross-validated (three networks a trial) and refit as five, which these tests of what
    # is saved and resumed do not need (the Ctrl-C script above resumes a cross-validated
    # search).
    return dict(units=[8, 16], max_trials=2, epochs=1, learning_rate=0.01)


def _snapshot(directory):
    """Every file of a directory with its contents."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, directory)] = f.read()
    return files


@pytest.mark.slow
def test_a_changed_search_is_an_error_naming_what_changed_before_any_training(
    tmp_path, cancer, tiny
):
    X, y = cancer
    tiny(directory=str(tmp_path), max_trials=1).fit(X, y)
    before = _snapshot(tmp_path)
    changed = [
        (dict(strategy="reinforce"), (X, y), ["the strategy was 'predictor', now 'reinforce'"]),
        (dict(), (X[:100], y[:100]), [f"the shape of X was {X.shape}, now (100, 30)"]),
        (dict(), (X * 2, y), ["X has other values (same shape)"]),
        (
            dict(),
            (X, np.where(y == 1, "yes", "no")),
            ["the classes of y were [0, 1], now ['no', 'yes']"],
        ),
        (
            dict(epochs=2, units=[8, 32]),
            (X, y),
            ["epochs was 1, now 2", "the search space differs (changed: dense/units_0)"],
        ),
        (
            dict(random_state=1),
            (X, y),
            ["random_state differs: the search was seeded with 0, this fit with 1"],
        ),
    ]
    for params, (X_new, y_new), phrases in changed:
        estimator = tiny(directory=str(tmp_path), max_trials=3, **params)
        with pytest.raises(resume.SearchChangedError) as caught:
            estimator.fit(X_new, y_new)
        message = str(caught.value)
        for phrase in phrases:
            assert phrase in message, (phrase, message)
        assert len(caught.value.changes) == len(phrases), caught.value.changes
        assert "Pass overwrite=True to start over there" in message
        # Nothing was trained, written or removed.
        assert _snapshot(tmp_path) == before
        assert not hasattr(estimator, "best_model_")

    # The same search with a larger budget continues it; overwrite=True starts over.
    longer = tiny(directory=str(tmp_path), max_trials=2).fit(X, y)
    assert [r["trial"] for r in longer.search_results_] == [1, 2]
    other = tiny(directory=str(tmp_path), max_trials=1, strategy="reinforce", overwrite=True).fit(
        X, y
    )
    assert len(other.search_results_) == 1
    with open(tmp_path / resume.PROJECT_NAME / "oracle.json") as f:
        assert json.load(f)["strategy"] == "reinforce"


@pytest.mark.slow
def test_changed_search_from_the_command_line_is_one_line(tmp_path, capsys):
    from nasplug.cli import main

    frame = load_wine(as_frame=True).frame.sample(60, random_state=0)
    frame.to_csv(tmp_path / "wine.csv", index=False)
    args = [
        "search",
        str(tmp_path / "wine.csv"),
        "--target",
        "target",
        "--max-trials",
        "1",
        "--epochs",
        "1",
        "--cv",
        "none",
        "--output",
        str(tmp_path / "out"),
        "--quiet",
    ]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args + ["--strategy", "qlearning"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "the strategy was 'predictor', now 'qlearning'" in err
    assert err.rstrip().endswith(
        "Pass --overwrite to start over there (its trials are deleted), or use another directory."
    )


@pytest.mark.slow
def test_random_state_none_resumes_with_the_saved_seed(tmp_path, cancer, tiny):
    X, y = cancer
    first = tiny(directory=str(tmp_path / "a"), random_state=None, max_trials=1).fit(X, y)
    with open(tmp_path / "a" / resume.PROJECT_NAME / resume.RECORD_FILE) as f:
        seed = json.load(f)["seed"]
    resumed = tiny(directory=str(tmp_path / "a"), random_state=None, max_trials=2).fit(X, y)
    straight = tiny(directory=str(tmp_path / "b"), random_state=seed, max_trials=2).fit(X, y)
    assert resumed.search_results_[0]["score"] == first.search_results_[0]["score"]
    for got, want in zip(resumed.search_results_, straight.search_results_):
        assert (got["trial_id"], got["hyperparameters"]) == (
            want["trial_id"],
            want["hyperparameters"],
        )
        assert got["score"] == pytest.approx(want["score"], abs=1e-12)
    np.testing.assert_allclose(resumed.predict_proba(X), straight.predict_proba(X), atol=1e-6)


@pytest.mark.slow
def test_an_interrupted_fit_raises_a_keyboard_interrupt_saying_how_to_resume(
    tmp_path, cancer, tiny
):
    """In-process, with a callback striking during the second trial (refit=False)."""
    import keras

    class CtrlC(keras.callbacks.Callback):
        trainings = 0

        def __deepcopy__(self, memo):
            return self  # one counter over all trials

        def on_train_begin(self, logs=None):
            CtrlC.trainings += 1
            if CtrlC.trainings == 2 and self.strike:
                raise KeyboardInterrupt

    X, y = cancer
    ctrl_c = CtrlC()
    ctrl_c.strike = True
    estimator = tiny(
        directory=str(tmp_path / "kept"), max_trials=3, callbacks=[ctrl_c], refit=False
    )
    with pytest.raises(KeyboardInterrupt) as caught:
        estimator.fit(X, y)
    assert isinstance(caught.value, resume.SearchInterrupted)
    assert caught.value.finished == 1 and caught.value.total == 3
    assert "fit again with the same directory to resume" in str(caught.value)

    ctrl_c.strike = False
    resumed = estimator.fit(X, y)
    straight = tiny(
        directory=str(tmp_path / "straight"), max_trials=3, callbacks=[ctrl_c], refit=False
    ).fit(X, y)
    assert [r["hyperparameters"] for r in resumed.search_results_] == [
        r["hyperparameters"] for r in straight.search_results_
    ]
    # Without refit, the best network comes from the trials; one trained before the
    # interruption is trained again as its trial was.
    assert resumed.best_trial_id_ == straight.best_trial_id_
    np.testing.assert_allclose(resumed.predict_proba(X), straight.predict_proba(X), atol=1e-6)

    # Without a directory there is nothing to resume, and the message says so.
    ctrl_c.strike, CtrlC.trainings = True, 0
    with pytest.raises(resume.SearchInterrupted, match="give a directory to be able to resume"):
        tiny(max_trials=3, callbacks=[ctrl_c]).fit(X, y)


@pytest.mark.slow
def test_a_search_without_a_record_is_not_resumed(tmp_path, cancer, tiny):
    X, y = cancer
    tiny(directory=str(tmp_path), max_trials=1).fit(X, y)
    os.remove(tmp_path / resume.PROJECT_NAME / resume.RECORD_FILE)
    with pytest.raises(ValueError, match="begun without nasplug's record"):
        tiny(directory=str(tmp_path), max_trials=2).fit(X, y)
    (tmp_path / resume.PROJECT_NAME / resume.RECORD_FILE).write_text("{")
    with pytest.raises(ValueError, match="is corrupted"):
        tiny(directory=str(tmp_path), max_trials=2).fit(X, y)
    assert (
        len(tiny(directory=str(tmp_path), max_trials=1, overwrite=True).fit(X, y).search_results_)
        == 1
    )
    with pytest.raises(ValueError, match="overwrite must be True or False"):
        tiny(directory=str(tmp_path), overwrite="yes").fit(X, y)


def _saved_search_module():
    """`tests/sklearn/fixtures/saved_search_data.py`, the saved search's data and estimator."""
    import importlib.util

    path = os.path.join(FIXTURES, "saved_search_data.py")
    spec = importlib.util.spec_from_file_location("saved_search_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_search_saved_by_an_earlier_nasplug_resumes_where_it_stopped(tmp_path):
    # Made with the estimators of before their split into modules (see
    # tests/sklearn/fixtures/make_saved_search.py): its record, oracle state and trials must stay
    # readable, and the search continue with the trial that code proposed next.
    saved = _saved_search_module()
    directory = tmp_path / "search"
    shutil.copytree(os.path.join(FIXTURES, saved.DIRECTORY), directory)
    saved_project = os.path.join(FIXTURES, saved.DIRECTORY, resume.PROJECT_NAME)
    kept = {trial_id: score for trial_id, _, _, score in _trials(saved_project)}
    with open(os.path.join(FIXTURES, saved.NEXT)) as f:
        expected_next = json.load(f)["hyperparameters"]
    X, y = saved.rows()
    clf = saved.estimator(str(directory), max_trials=saved.MAX_TRIALS + 1).fit(X, y)
    records = clf.search_results_
    assert len(records) == saved.MAX_TRIALS + 1
    # The saved trials are read back, not trained again: the same scores and seconds.
    for record in records[: saved.MAX_TRIALS]:
        assert record["score"] == kept[record["trial_id"]]
        trial_file = os.path.join(saved_project, f"trial_{record['trial_id']}", "trial.json")
        with open(trial_file) as f:
            metrics = json.load(f)["metrics"]["metrics"]
        assert record["seconds"] == metrics["seconds"]["observations"][0]["value"][0]
    assert records[-1]["status"] == "COMPLETED"
    assert records[-1]["recorded_hyperparameters"] == expected_next
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert list(clf.classes_) == list(range(10))
