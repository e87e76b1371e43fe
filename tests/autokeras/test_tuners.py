"""nasplug's strategies as AutoKeras tuners, on real tiny AutoKeras tasks."""

import math
import os
import subprocess
import sys

import autokeras as ak
import keras
import keras_tuner
import numpy as np
import pytest
from autokeras import auto_model
from autokeras import graph as graph_module
from autokeras.tuners import task_specific
from autokeras.utils import data_utils
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

import nasplug.autokeras as nak
from nasplug import oracles
from tests.support import slow_except

TUNERS = list(nak.TUNERS.values())


@pytest.fixture(autouse=True)
def fresh_block_names():
    """Numbers AutoKeras blocks from 1 in every test, as AutoKeras's own conftest does."""
    keras.backend.clear_session()


@pytest.fixture
def autokeras_globals():
    """Restores AutoKeras's tuner names and `Graph.set_io_shapes` after a test."""
    names = dict(auto_model.TUNER_CLASSES)
    set_io_shapes = graph_module.Graph.set_io_shapes
    yield
    auto_model.TUNER_CLASSES.clear()
    auto_model.TUNER_CLASSES.update(names)
    graph_module.Graph.set_io_shapes = set_io_shapes


# Tiny data sets, all from scikit-learn's bundled data or made here.


def structured_classification():
    x, y = load_breast_cancer(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(x))[:100]
    return x[rows].astype("float32"), y[rows]


def structured_regression():
    x, y = load_diabetes(return_X_y=True)
    return x[:100].astype("float32"), y[:100].astype("float32")


def digit_images():
    digits = load_digits()
    # 8x8 grey images with one channel, in [0, 1].
    return digits.images[:120, :, :, None].astype("float32") / 16.0, digits.target[:120]


def sentiment_texts(count=100, seed=0):
    """Short sentences whose label is given by the sentiment words they contain."""
    rng = np.random.default_rng(seed)
    positive = ["good", "great", "lovely", "happy", "superb"]
    negative = ["bad", "awful", "boring", "sad", "poor"]
    filler = ["the", "film", "was", "and", "a", "plot", "actor", "really", "quite"]
    texts, labels = [], []
    for i in range(count):
        label = i % 2
        words = list(rng.choice(filler, 5)) + list(rng.choice(positive if label else negative, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return np.array(texts), np.array(labels)


TASKS = {
    "structured_classifier": (ak.StructuredDataClassifier, structured_classification, 2),
    "structured_regressor": (ak.StructuredDataRegressor, structured_regression, 2),
    # AutoKeras's 2nd and 3rd image starting points are ResNet50 and EfficientNetB7 at
    # ImageNet size: far too heavy for a unit test, so one trial (the vanilla CNN).
    "image_classifier": (ak.ImageClassifier, digit_images, 1),
    # Text architectures a strategy proposes (transformers, wide n-grams) cost several
    # times the starting point; the second trial is left to integrations/autokeras.
    "text_classifier": (ak.TextClassifier, sentiment_texts, 1),
}

STARTING_POINTS = {
    ak.StructuredDataClassifier: task_specific.STRUCTURED_DATA_CLASSIFIER,
    ak.StructuredDataRegressor: task_specific.STRUCTURED_DATA_REGRESSOR,
    ak.ImageClassifier: task_specific.IMAGE_CLASSIFIER,
    ak.TextClassifier: task_specific.TEXT_CLASSIFIER,
}


# The head workaround.

# Keras refuses a numpy integer as `Dense(units)` from 3.13 on, so AutoKeras's heads crash
# there without the fix; on 3.11 and 3.12 they build without it and the fix only casts.
KERAS_REFUSES_NUMPY_UNITS = tuple(int(part) for part in keras.version().split(".")[:2]) >= (3, 13)
needs_head_fix = pytest.mark.skipif(
    not KERAS_REFUSES_NUMPY_UNITS,
    reason=f"Keras {keras.version()} accepts a numpy integer as `units`: no crash to reproduce",
)


def build_head(head_class):
    """A model of an AutoKeras head, built as `AutoTuner` builds it: the graph's shapes are
    recorded from the data (3 targets) first."""
    x = np.zeros((6, 4), dtype="float32")
    y = np.zeros((6, 3), dtype="float32")
    input_node = ak.Input(shape=(4,))
    head = head_class()
    graph = graph_module.Graph(inputs=input_node, outputs=head(input_node))
    graph.set_io_shapes(data_utils.dataset_shape((x, y)))
    inputs = keras.Input(shape=(4,))
    return keras.Model(inputs, head.build(keras_tuner.HyperParameters(), inputs))


@needs_head_fix
@pytest.mark.parametrize("head_class", [ak.ClassificationHead, ak.RegressionHead])
def test_head_width_from_autokeras_shapes_fails_without_fix(head_class, autokeras_globals):
    nak.unfix_head_shapes()
    with pytest.raises(ValueError, match="units"):
        build_head(head_class)


@pytest.mark.parametrize("head_class", [ak.ClassificationHead, ak.RegressionHead])
def test_head_builds_with_fix_on_every_keras_and_as_without_it_where_unneeded(
    head_class, autokeras_globals
):
    nak.fix_head_shapes()
    fixed = build_head(head_class)
    assert tuple(fixed.output.shape) == (None, 3)
    [dense] = [layer for layer in fixed.layers if isinstance(layer, keras.layers.Dense)]
    assert type(dense.units) is int and dense.units == 3
    if not KERAS_REFUSES_NUMPY_UNITS:
        nak.unfix_head_shapes()
        keras.backend.clear_session()
        unfixed = build_head(head_class)
        assert unfixed.get_config() == fixed.get_config()


def test_fix_head_shapes_is_idempotent_and_undone_by_unfix(autokeras_globals):
    nak.unfix_head_shapes()
    autokeras_own = graph_module.Graph.set_io_shapes
    nak.fix_head_shapes()
    fixed = graph_module.Graph.set_io_shapes
    nak.fix_head_shapes()
    assert graph_module.Graph.set_io_shapes is fixed
    assert fixed is not autokeras_own
    assert fixed._nasplug_original is autokeras_own
    nak.unfix_head_shapes()
    assert graph_module.Graph.set_io_shapes is autokeras_own


def autokeras_own_classifier(directory):
    # tuner=None: AutoKeras's own StructuredDataClassifierTuner (Greedy).
    return ak.StructuredDataClassifier(max_trials=1, directory=directory, overwrite=True, seed=1)


@pytest.mark.slow
@needs_head_fix
def test_autokeras_own_task_tuner_crashes_without_fix(tmp_path, autokeras_globals):
    x, y = structured_classification()
    nak.disable()
    with pytest.raises(ValueError, match="invalid value for `units`"):
        autokeras_own_classifier(tmp_path).fit(x, y, epochs=1, verbose=0)


@pytest.mark.slow
def test_autokeras_own_task_tuner_works_after_enable(tmp_path, autokeras_globals):
    x, y = structured_classification()
    nak.enable()
    clf = autokeras_own_classifier(tmp_path)
    clf.fit(x, y, epochs=1, verbose=0)
    loss, accuracy = clf.evaluate(x, y, verbose=0)
    assert math.isfinite(loss) and 0.0 <= accuracy <= 1.0


# Registration of the strategy names.


@pytest.mark.parametrize(
    "tuner_class",
    slow_except(TUNERS, {"EvolutionTuner"}, name=lambda c: c.__name__),
    ids=lambda c: c.__name__,
)
def test_enable_makes_strategy_names_work_on_every_task_and_automodel(
    tuner_class, tmp_path, autokeras_globals
):
    name = tuner_class.strategy
    assert nak.enable() == ["evolution", "reinforce", "qlearning", "predictor"]
    assert nak.enable() == ["evolution", "reinforce", "qlearning", "predictor"]
    assert auto_model.get_tuner_class(name) is tuner_class
    oracle_class = oracles.get_oracle_class(name)
    for task, points in STARTING_POINTS.items():
        model = task(tuner=name, max_trials=3, directory=tmp_path, project_name=task.__name__)
        assert type(model.tuner) is tuner_class
        assert type(model.tuner.oracle) is oracle_class
        assert model.tuner.oracle.max_trials == 3
        assert model.tuner.oracle.initial_hps == points
    automodel = ak.AutoModel(
        inputs=ak.ImageInput(),
        outputs=ak.ClassificationHead(),
        tuner=name,
        directory=tmp_path,
        project_name="automodel",
    )
    assert type(automodel.tuner) is tuner_class
    # The same two blocks as ImageClassifier: AutoKeras's image starting points apply.
    assert automodel.tuner.oracle.initial_hps == task_specific.IMAGE_CLASSIFIER


def test_disable_removes_the_names_and_autokeras_rejects_them_again(tmp_path, autokeras_globals):
    nak.enable()
    nak.disable()
    assert "evolution" not in auto_model.TUNER_CLASSES
    assert "greedy" in auto_model.TUNER_CLASSES
    with pytest.raises(ValueError, match="tuner argument"):
        ak.StructuredDataRegressor(tuner="evolution", directory=tmp_path)


def test_enable_refuses_to_replace_a_tuner_autokeras_already_names(autokeras_globals):
    auto_model.TUNER_CLASSES["reinforce"] = auto_model.TUNER_CLASSES["greedy"]
    with pytest.raises(ValueError, match="already has a tuner named 'reinforce'"):
        nak.enable()
    assert auto_model.TUNER_CLASSES["reinforce"] is auto_model.TUNER_CLASSES["greedy"]


@pytest.mark.slow
def test_importing_registers_nothing_and_patches_nothing():
    # A fresh interpreter: in this one another test may have called enable().
    code = (
        "import nasplug.autokeras\n"
        "from autokeras import auto_model, graph\n"
        "print(sorted(auto_model.TUNER_CLASSES))\n"
        "print(hasattr(graph.Graph.set_io_shapes, '_nasplug_original'))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split("\n")
    assert out[0] == "['bayesian', 'greedy', 'hyperband', 'random']"
    assert out[1] == "False"


# Warm start and arguments.


def test_starting_points_match_the_kinds_of_blocks_and_follow_their_names(tmp_path):
    regressor = ak.ImageRegressor(directory=tmp_path, project_name="image_regressor")
    # AutoKeras has no starting points for image regression.
    assert nak.starting_points(regressor.tuner.hypermodel) == []
    node = ak.ImageInput()
    functional = ak.AutoModel(
        inputs=node,
        outputs=ak.ClassificationHead()(ak.ConvBlock()(node)),
        directory=tmp_path,
        project_name="functional",
    )
    assert nak.starting_points(functional.tuner.hypermodel) == []
    # Built after a functional model, AutoKeras numbers this head 2, not 1.
    classifier = ak.StructuredDataClassifier(directory=tmp_path, project_name="sd")
    head_name = classifier.tuner.hypermodel.blocks[-1].name
    assert head_name != "classification_head_1"
    points = nak.starting_points(classifier.tuner.hypermodel)
    expected = {
        name.replace("classification_head_1", head_name): value
        for name, value in task_specific.STRUCTURED_DATA_CLASSIFIER[0].items()
    }
    assert points == [expected]
    points[0]["optimizer"] = "sgd"
    assert task_specific.STRUCTURED_DATA_CLASSIFIER[0]["optimizer"] == "adam"


@pytest.mark.parametrize(
    "tuner_class",
    slow_except(TUNERS, {"EvolutionTuner"}, name=lambda c: c.__name__),
    ids=lambda c: c.__name__,
)
def test_initial_hps_none_list_and_bad_values(tuner_class, tmp_path):
    def make(**kwargs):
        return tuner_class(
            ak.StructuredDataClassifier(directory=tmp_path, project_name="graph").tuner.hypermodel,
            directory=tmp_path,
            overwrite=True,
            **kwargs,
        )

    assert make(initial_hps=None).oracle.initial_hps == []
    given = [
        {"learning_rate": np.float64(0.01), "structured_data_block_1/normalize": np.bool_(False)}
    ]
    values = make(initial_hps=given).oracle.initial_hps[0]
    assert values == {"learning_rate": 0.01, "structured_data_block_1/normalize": False}
    assert (
        type(values["learning_rate"]) is float
        and type(values["structured_data_block_1/normalize"]) is bool
    )
    with pytest.raises(ValueError, match='initial_hps must be "auto"'):
        make(initial_hps="greedy")
    with pytest.raises(ValueError, match="initial_hps must be a list of dicts"):
        make(initial_hps={"learning_rate": 0.01})


@pytest.mark.parametrize("tuner_class", TUNERS, ids=lambda c: c.__name__)
def test_bad_algorithm_argument_is_reported_by_the_oracle(tuner_class, tmp_path):
    bad = {
        nak.EvolutionTuner: {"population_size": 0},
        nak.ReinforceTuner: {"baseline_decay": 1.5},
        nak.QLearningTuner: {"final_epsilon": -0.1},
        nak.PredictorEvolutionTuner: {"candidates": 0},
    }[tuner_class]
    with pytest.raises(ValueError, match=next(iter(bad))):
        ak.StructuredDataRegressor(tuner=tuner_class, directory=tmp_path, **bad)


# Real tiny searches: every task, every tuner. The image and text searches are one trial,
# AutoKeras's starting point, whichever the tuner: one tuner each. The structured ones go
# on to the strategy's own proposal: the classifier with every tuner, the regressor with
# two more. (`integrations/autokeras` runs AutoKeras's own task tests with each tuner.)
REAL_SEARCHES = [("structured_classifier", tuner) for tuner in TUNERS] + [
    ("structured_regressor", nak.TUNERS["reinforce"]),
    ("structured_regressor", nak.TUNERS["qlearning"]),
    ("image_classifier", nak.TUNERS["evolution"]),
    ("text_classifier", nak.TUNERS["predictor"]),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "task_name, tuner_class",
    REAL_SEARCHES,
    ids=[f"{task}-{tuner.__name__}" for task, tuner in REAL_SEARCHES],
)
def test_real_search_fit_predict_evaluate_export(task_name, tuner_class, tmp_path):
    task, make_data, max_trials = TASKS[task_name]
    x, y = make_data()
    model = task(
        tuner=tuner_class, max_trials=max_trials, directory=tmp_path, overwrite=True, seed=3
    )
    # An EarlyStopping callback and explicit validation data spare the final refit of
    # the best model (the resume test below takes AutoKeras's default path, with it).
    split = len(x) * 4 // 5
    model.fit(
        x[:split],
        y[:split],
        validation_data=(x[split:], y[split:]),
        epochs=1,
        batch_size=32,
        callbacks=[keras.callbacks.EarlyStopping(patience=1)],
        verbose=0,
    )

    trials = model.tuner.oracle.trials
    assert len(trials) == max_trials
    first = trials[model.tuner.oracle.start_order[0]]
    assert first.status == "COMPLETED"
    # Warm start: the first trial is AutoKeras's first starting point for this task.
    for name, value in STARTING_POINTS[task][0].items():
        assert first.hyperparameters.values[name] == value, name
    if max_trials > 1:
        # Then the strategy's own proposal, a new architecture.
        second = trials[model.tuner.oracle.start_order[1]]
        assert second.hyperparameters.values != first.hyperparameters.values
    for trial in trials.values():
        for value in trial.hyperparameters.values.values():
            assert type(value) in (bool, int, float, str), value

    predictions = model.predict(x, verbose=0)
    assert len(predictions) == len(x)
    results = model.evaluate(x, y, verbose=0)
    assert all(math.isfinite(r) for r in np.ravel(results))
    if task is ak.StructuredDataRegressor:
        assert predictions.shape == (len(x), 1)
        assert np.all(np.isfinite(predictions.astype("float32")))
    else:
        labels = {str(label) for label in np.unique(y)}
        assert {str(p) for p in np.ravel(predictions)} <= labels | {
            f"{float(label)}" for label in np.unique(y)
        }

    exported = model.export_model()
    assert isinstance(exported, keras.Model)
    path = os.path.join(tmp_path, "exported.keras")
    exported.save(path)
    reloaded = keras.models.load_model(path, custom_objects=ak.CUSTOM_OBJECTS)
    # The exported model takes what the search's preprocessing pipeline produces
    # (token ids for text), as in AutoKeras.
    sample = model.tuner.get_best_pipeline().transform_x(x[:8])
    np.testing.assert_allclose(
        np.asarray(reloaded.predict(sample, verbose=0)),
        np.asarray(exported.predict(sample, verbose=0)),
        rtol=1e-5,
        atol=1e-6,
    )


class _Interrupted(BaseException):
    """Stands for Ctrl-C or a killed process: not an `Exception`, so no retry catches it."""


# Two tuners: every oracle's saved state is resumed exactly in tests/oracles/test_strategies.py;
# this is AutoKeras's path to it.
@pytest.mark.slow
@pytest.mark.parametrize(
    "tuner_class", [nak.TUNERS["evolution"], nak.TUNERS["reinforce"]], ids=lambda c: c.__name__
)
def test_reload_with_overwrite_false_resumes_an_interrupted_search(tuner_class, tmp_path):
    x, y = structured_regression()

    class InterruptedAtSecondTrial(tuner_class):
        def on_trial_begin(self, trial):
            if self.oracle.end_order:
                raise _Interrupted
            super().on_trial_begin(trial)

    def make(tuner):
        return ak.StructuredDataRegressor(
            tuner=tuner, max_trials=2, directory=tmp_path, project_name="resume", seed=7
        )

    first_run = make(InterruptedAtSecondTrial)
    with pytest.raises(_Interrupted):
        first_run.fit(x, y, epochs=1, verbose=0)
    done = {
        t.trial_id: t.score
        for t in first_run.tuner.oracle.trials.values()
        if t.status == "COMPLETED"
    }
    interrupted = [t for t in first_run.tuner.oracle.trials.values() if t.status == "RUNNING"]
    assert len(done) == 1 and len(interrupted) == 1

    resumed = make(tuner_class)
    assert resumed.tuner.oracle.initial_hps == task_specific.STRUCTURED_DATA_REGRESSOR
    resumed.fit(x, y, epochs=1, verbose=0)
    trials = resumed.tuner.oracle.trials
    # The finished trial is kept, not re-run; the interrupted one is run again as it was.
    assert len(trials) == 2
    for trial_id, score in done.items():
        assert trials[trial_id].score == score
    retried = trials[interrupted[0].trial_id]
    assert retried.status == "COMPLETED"
    # Building the model may add the values of sub-blocks the trial's choices activate.
    for name, value in interrupted[0].hyperparameters.values.items():
        assert retried.hyperparameters.values[name] == value, name
    assert resumed.predict(x[:5], verbose=0).shape == (5, 1)

    # Reloading a finished search keeps its trials and result without searching again.
    again = make(tuner_class)
    again.fit(x, y, epochs=1, verbose=0)
    assert len(again.tuner.oracle.trials) == 2
    assert {t.trial_id: t.score for t in again.tuner.oracle.trials.values()} == {
        t.trial_id: t.score for t in trials.values()
    }


# Pareto mode: accuracy against size, with a size limit.


@pytest.mark.slow
def test_pareto_mode_measures_size_keeps_the_front_and_exports_a_front_member(tmp_path):
    limit = 3000
    x, y = structured_classification()
    clf = ak.StructuredDataClassifier(
        tuner=nak.PredictorEvolutionTuner,
        objective=[
            keras_tuner.Objective("val_accuracy", "max"),
            keras_tuner.Objective("params", "min"),
        ],
        pareto=True,
        max_params=limit,
        max_trials=3,
        seed=1,
        directory=tmp_path,
        overwrite=True,
    )
    clf.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    oracle = clf.tuner.oracle
    trials = oracle.completed_trials
    assert len(trials) == 3
    points, violations = {}, {}
    for trial in trials:
        params = trial.metrics.get_last_value("params")
        violation = trial.metrics.get_last_value("constraint_violation")
        assert params > 0 and params == int(params)
        assert (violation > 0) == (params > limit)
        violations[trial.trial_id] = violation
        points[trial.trial_id] = (-trial.metrics.get_best_value("val_accuracy"), params)

    def dominates(a, b):
        return all(p <= q for p, q in zip(a, b)) and a != b

    front = {t.trial_id for t in oracle.pareto_front()}
    # Constrained domination: the least violation first (none, when any trial meets the limit).
    least = min(violations.values())
    candidates = [i for i in points if violations[i] == least]
    expected = {
        i for i in candidates if not any(dominates(points[j], points[i]) for j in candidates)
    }
    assert front == expected
    best = oracle.get_best_trials(1)[0]
    assert best.trial_id in front
    # AutoKeras retrains the best trial's architecture for the exported model.
    assert clf.export_model().count_params() == points[best.trial_id][1]


def test_a_strategy_that_scores_candidates_outside_trials_has_no_autokeras_tuner():
    assert "proxy" not in nak.TUNERS
    with pytest.raises(ValueError, match="cannot run inside AutoKeras"):
        nak.tuner_class("proxy")
