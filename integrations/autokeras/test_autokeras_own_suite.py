"""AutoKeras's own packaged tests, run with nasplug's tuners in place of AutoKeras's.

AutoKeras ships its tests inside the package (`autokeras/integration_tests/`,
`autokeras/tuners/task_specific_test.py`). Each test here runs one of them unchanged,
after swapping every tuner AutoKeras would pick, the task defaults (its Greedy-based
task tuners), the "greedy" name and the tuner classes those tests name
(`ak.Hyperband`, `ak.RandomSearch`), for one of our tuners. The AutoKeras head fix is
applied by our tuners themselves, so nothing else is changed.

AutoKeras's `test_utils` downloads the Titanic CSV files when imported; with no network
here, that download alone is replaced by small CSV files of the same columns.
"""

import importlib
import os
import socket

import autokeras as ak
import keras
import numpy as np
import pytest
from autokeras import auto_model
from autokeras.tuners import greedy, task_specific

import nasplug.autokeras as nak

pytestmark = pytest.mark.slow

TITANIC_COLUMNS = [
    "survived",
    "sex",
    "age",
    "n_siblings_spouses",
    "parch",
    "fare",
    "class",
    "deck",
    "embark_town",
    "alone",
]


def _write_titanic_like_csv(path, rows, rng):
    lines = [",".join(TITANIC_COLUMNS)]
    for _ in range(rows):
        lines.append(
            ",".join(
                [
                    str(rng.integers(2)),
                    str(rng.choice(["male", "female"])),
                    f"{rng.uniform(1, 80):.1f}",
                    str(rng.integers(4)),
                    str(rng.integers(3)),
                    f"{rng.uniform(5, 100):.2f}",
                    str(rng.choice(["First", "Second", "Third"])),
                    str(rng.choice(["A", "B", "C", "unknown"])),
                    str(rng.choice(["Southampton", "Cherbourg", "Queenstown"])),
                    str(rng.choice(["y", "n"])),
                ]
            )
        )
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def autokeras_tests(tmp_path_factory):
    """AutoKeras's packaged test modules, imported without network access."""
    folder = tmp_path_factory.mktemp("titanic")
    rng = np.random.default_rng(0)
    files = {}
    for name in ("train.csv", "eval.csv"):
        files[name] = folder / name
        _write_titanic_like_csv(files[name], 30, rng)

    real_get_file = keras.utils.get_file

    def offline_get_file(fname=None, origin=None, **kwargs):
        if fname in files and "titanic" in str(origin):
            return str(files[fname])
        return real_get_file(fname, origin, **kwargs)

    keras.utils.get_file = offline_get_file
    try:
        return {
            name: importlib.import_module(f"autokeras.{name}")
            for name in (
                "integration_tests.task_api_test",
                "integration_tests.io_api_test",
                "integration_tests.functional_api_test",
                "tuners.task_specific_test",
            )
        }
    finally:
        keras.utils.get_file = real_get_file


@pytest.fixture
def use_tuner(monkeypatch):
    """Makes every tuner AutoKeras would use in its tests one of ours."""

    def swap(tuner_class):
        for name in (
            "ImageClassifierTuner",
            "TextClassifierTuner",
            "StructuredDataClassifierTuner",
            "StructuredDataRegressorTuner",
        ):
            monkeypatch.setattr(task_specific, name, tuner_class)
        # ImageRegressor and TextRegressor default to greedy.Greedy.
        monkeypatch.setattr(greedy, "Greedy", tuner_class)
        for name in ("greedy", "random", "bayesian", "hyperband"):
            monkeypatch.setitem(auto_model.TUNER_CLASSES, name, tuner_class)
        for name in ("Greedy", "RandomSearch", "Hyperband", "BayesianOptimization"):
            monkeypatch.setattr(ak, name, tuner_class)

    yield swap


@pytest.fixture(autouse=True)
def fresh_block_names():
    # AutoKeras's own conftest does this: its starting points name blocks "..._1".
    keras.backend.clear_session()


def _online():
    try:
        socket.getaddrinfo("storage.googleapis.com", 443)
    except OSError:
        return False
    return True


NEEDS_WEIGHTS = pytest.mark.skipif(
    not _online(),
    reason="downloads ImageNet weights (Xception / EfficientNetB7), no network here; "
    "fails the same way with AutoKeras's own tuners",
)
SLOW = pytest.mark.skipif(
    os.environ.get("NASPLUG_AUTOKERAS_SLOW") != "1",
    reason="its 2nd trial is AutoKeras's ResNet50 starting point at 224x224, minutes "
    "on a CPU; set NASPLUG_AUTOKERAS_SLOW=1 to run it",
)


TUNERS = {
    "evolution": nak.EvolutionTuner,
    "reinforce": nak.ReinforceTuner,
    "qlearning": nak.QLearningTuner,
}

# (module, test function, strategy): each AutoKeras test with one of our tuners, in turn,
# so that every tuner runs every kind of task within the time budget.
CASES = [
    pytest.param(
        "integration_tests.task_api_test", "test_image_classifier", "evolution", marks=SLOW
    ),
    ("integration_tests.task_api_test", "test_image_regressor", "reinforce"),
    ("integration_tests.task_api_test", "test_text_classifier", "qlearning"),
    ("integration_tests.task_api_test", "test_text_regressor", "evolution"),
    ("integration_tests.task_api_test", "test_structured_data_regressor", "reinforce"),
    ("integration_tests.task_api_test", "test_structured_data_classifier", "qlearning"),
    ("integration_tests.io_api_test", "test_io_api", "evolution"),
    ("integration_tests.functional_api_test", "test_text_and_structured_data", "reinforce"),
    pytest.param(
        "integration_tests.functional_api_test",
        "test_image_blocks",
        "qlearning",
        marks=NEEDS_WEIGHTS,
    ),
    ("tuners.task_specific_test", "test_img_clf_init_hp0_equals_hp_of_a_model", "evolution"),
    ("tuners.task_specific_test", "test_img_clf_init_hp1_equals_hp_of_a_model", "reinforce"),
    pytest.param(
        "tuners.task_specific_test",
        "test_img_clf_init_hp2_equals_hp_of_a_model",
        "qlearning",
        marks=NEEDS_WEIGHTS,
    ),
    ("tuners.task_specific_test", "test_txt_clf_init_hp0_equals_hp_of_a_model", "evolution"),
    ("tuners.task_specific_test", "test_sd_clf_init_hp0_equals_hp_of_a_model", "reinforce"),
    ("tuners.task_specific_test", "test_sd_reg_init_hp0_equals_hp_of_a_model", "qlearning"),
]


def _case_id(case):
    values = case.values if hasattr(case, "values") else case
    return f"{values[1]}-{values[2]}"


@pytest.mark.parametrize("module, test_name, strategy", CASES, ids=[_case_id(c) for c in CASES])
def test_autokeras_packaged_test_passes_with_our_tuner(
    module, test_name, strategy, autokeras_tests, use_tuner, tmp_path, monkeypatch
):
    tuner_class = TUNERS[strategy]
    built = []

    class Recorded(tuner_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    Recorded.__name__ = tuner_class.__name__
    use_tuner(Recorded)
    getattr(autokeras_tests[module], test_name)(tmp_path)
    # The test really ran on our tuner and oracle, not on one of AutoKeras's.
    assert built, "AutoKeras built no tuner: the swap missed"
    assert all(type(t.oracle).__module__ == f"nasplug.oracles.{strategy}" for t in built)
