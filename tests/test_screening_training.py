"""Multi-fidelity screening with real training, in each front end.

Each search screens with rungs of 1 and 3 epochs and a budget of two full trials
(6 epochs): three candidates train for one epoch, the best continues to three. The
continued trial must carry on the network it continues: its epochs count on from 1, its
optimizer's iterations from the parent's, and it starts from the parent's final weights.
"""

import os

import autokeras as ak
import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras_tuner.engine import hyperparameters
from sklearn.datasets import load_breast_cancer, load_digits

import nasplug
import nasplug.autokeras as nak
from nasplug import NASClassifier
from nasplug.screening import CHECKPOINT, CONTINUES, EPOCHS, Screening

SCREENING = Screening(min_epochs=1)


class TrainingRecorder(keras.callbacks.Callback):
    """Records every training run: its epochs, iterations and weights at start and end.

    Tuners deep-copy callbacks for each trial; the copies share `runs`.
    """

    runs = []

    def __deepcopy__(self, memo):
        return type(self)()

    def on_train_begin(self, logs=None):
        self.run = {"epochs": []}
        TrainingRecorder.runs.append(self.run)

    def on_epoch_begin(self, epoch, logs=None):
        if not self.run["epochs"]:
            # After every on_train_begin, the one that loads a continued network included.
            self.run["start_weights"] = [w.copy() for w in self.model.get_weights()]
            self.run["start_iterations"] = int(self.model.optimizer.iterations)
        self.run["epochs"].append(epoch)

    def on_train_end(self, logs=None):
        self.run["end_weights"] = [w.copy() for w in self.model.get_weights()]
        self.run["end_iterations"] = int(self.model.optimizer.iterations)


@pytest.fixture(autouse=True)
def fresh_runs():
    TrainingRecorder.runs = []
    keras.backend.clear_session()


def check_continuation(runs, trial_values, steps_per_epoch):
    """The continued trial's run carries on its parent's; returns the parent's position."""
    assert len(runs) == len(trial_values) == 4
    assert [v[EPOCHS] for v in trial_values] == [1, 1, 1, 3]
    child = runs[3]
    parent = runs[[v.get("trial_id") for v in trial_values].index(trial_values[3][CONTINUES])]
    assert [r["epochs"] for r in runs[:3]] == [[0]] * 3
    assert child["epochs"] == [1, 2]
    assert child["start_iterations"] == parent["end_iterations"] == steps_per_epoch
    assert child["end_iterations"] == 3 * steps_per_epoch
    for start, end in zip(child["start_weights"], parent["end_weights"]):
        np.testing.assert_array_equal(start, end)


def build_model(hp):
    # Seeded here: every process and every rerun trains a trial the same way.
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,))])
    model.add(keras.layers.Dense(hp.Choice("units", [4, 8, 16, 32]), activation="relu"))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(
        keras.optimizers.Adam(hp.Choice("lr", [1e-3, 1e-2])),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32")[:300], y[:300]


def search(directory, digits, callbacks, overwrite=True):
    x, y = digits
    tuner = nasplug.EvolutionSearch(
        build_model,
        objective="val_accuracy",
        max_trials=2,
        seed=1,
        screening=SCREENING,
        directory=directory,
        project_name="screened",
        overwrite=overwrite,
    )
    tuner.search(
        x[:200],
        y[:200],
        validation_data=(x[200:], y[200:]),
        epochs=3,
        batch_size=50,
        callbacks=callbacks,
        verbose=0,
    )
    return tuner


@pytest.mark.slow
def test_kerastuner_tuner_continues_the_best_network_from_its_weights(digits, tmp_path):
    tuner = search(tmp_path, digits, [TrainingRecorder()])
    trials = [tuner.oracle.trials[i] for i in tuner.oracle.start_order]
    values = [dict(t.hyperparameters.values, trial_id=t.trial_id) for t in trials]
    check_continuation(TrainingRecorder.runs, values, steps_per_epoch=4)
    # The best network is the one trained fully, and the best model loads.
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.trial_id == trials[3].trial_id
    assert tuner.get_best_models(1)[0].count_params() > 0
    parent = trials[3].hyperparameters.values[CONTINUES]
    assert os.path.exists(os.path.join(tuner.get_trial_dir(parent), CHECKPOINT))
    # Networks trained fully are not saved for a continuation.
    assert not os.path.exists(os.path.join(tuner.get_trial_dir(trials[3].trial_id), CHECKPOINT))


class StopAtRun(keras.callbacks.Callback):
    """Ends the whole search (as a killed process would) when training run `at` starts."""

    started = 0

    def __init__(self, at):
        super().__init__()
        self.at = at

    def __deepcopy__(self, memo):
        return type(self)(self.at)

    def on_train_begin(self, logs=None):
        StopAtRun.started += 1
        if StopAtRun.started == self.at:
            raise kt.errors.FatalError("stopped for the test")


@pytest.mark.slow
def test_a_resumed_screened_search_with_training_makes_the_same_decisions(digits, tmp_path):
    straight = search(tmp_path / "straight", digits, [])
    StopAtRun.started = 0
    with pytest.raises(kt.errors.FatalError):
        # Stops as the continued trial starts: after the decision to continue a network.
        search(tmp_path / "resumed", digits, [StopAtRun(4)])
    resumed = search(tmp_path / "resumed", digits, [], overwrite=False)

    def trials(tuner):
        return [
            (t.hyperparameters.values, t.score, t.status)
            for t in (tuner.oracle.trials[i] for i in tuner.oracle.start_order)
        ]

    assert trials(resumed) == trials(straight)
    assert len(trials(straight)) == 4

    def strategy_state(tuner):
        state = dict(tuner.oracle.get_state()["screening"]["strategy_state"])
        # KerasTuner keeps the tried values' hashes in a set: their order is not state.
        state["tried_so_far"] = sorted(state.get("tried_so_far", []))
        return state

    assert strategy_state(resumed) == strategy_state(straight)


def small_space():
    return ak.DenseBlock(
        num_layers=1,
        num_units=hyperparameters.Choice("num_units", [4, 8, 16, 32]),
        dropout=0.0,
        use_batchnorm=False,
        name="dense",
    )


@pytest.mark.slow
def test_estimator_screens_and_refits_the_network_trained_fully():
    X, y = load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(0).permutation(len(y))[:120]
    X, y = X[idx], y[idx]
    clf = NASClassifier(
        max_trials=2,
        epochs=3,
        search_space=small_space(),
        learning_rate=0.01,
        random_state=0,
        screening=SCREENING,
        callbacks=[TrainingRecorder()],
    ).fit(X, y)
    results = clf.search_results_
    values = [dict(r["hyperparameters"], trial_id=r["trial_id"]) for r in results]
    # 96 training rows (a 20 % validation split), batches of 32; the refit is the 5th run.
    check_continuation(TrainingRecorder.runs[:4], values, steps_per_epoch=3)
    assert [r["epochs"] for r in results] == [1, 1, 1, 3]
    assert [r["continues"] for r in results][:3] == [None] * 3
    assert clf.best_trial_id_ == results[3]["trial_id"]
    assert "tuner/epochs" not in clf.best_params_
    # The refit retrains the best architecture for the epochs it was trained in all.
    assert TrainingRecorder.runs[4]["epochs"] == [0, 1, 2]
    assert clf.score(X, y) > 0.6


def test_estimator_screening_auto_is_on_from_nine_epochs_and_off_for_hyperband():
    assert NASClassifier(epochs=20)._screening() is None  # off by default
    assert NASClassifier(epochs=9, screening="auto")._screening() == Screening(max_epochs=9)
    assert NASClassifier(epochs=8, screening="auto")._screening() is None
    assert NASClassifier(epochs=20, strategy="hyperband", screening="auto")._screening() is None
    assert NASClassifier(epochs=5, screening=True)._screening() == Screening(max_epochs=5)
    with pytest.raises(ValueError, match="'hyperband' schedules the epochs"):
        NASClassifier(strategy="hyperband", screening=True)._screening()
    with pytest.raises(ValueError, match='screening must be "auto", True, False'):
        NASClassifier(screening="yes")._screening()


@pytest.mark.slow
def test_autokeras_tuner_continues_the_best_network_from_its_weights(tmp_path):
    x, y = load_breast_cancer(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(x))[:100]
    x, y = x[rows].astype("float32"), y[rows]
    clf = ak.StructuredDataClassifier(
        tuner=nak.EvolutionTuner,
        max_trials=2,
        screening=SCREENING,
        initial_hps=None,
        directory=tmp_path,
        overwrite=True,
        seed=1,
    )
    clf.fit(x, y, epochs=3, callbacks=[TrainingRecorder()], verbose=0)
    oracle = clf.tuner.oracle
    trials = [oracle.trials[i] for i in oracle.start_order]
    values = [dict(t.hyperparameters.values, trial_id=t.trial_id) for t in trials]
    # 80 training rows (AutoKeras's 20 % validation split), batches of 32; then the final fit.
    check_continuation(TrainingRecorder.runs[:4], values, steps_per_epoch=3)
    assert TrainingRecorder.runs[4]["epochs"] == [0, 1, 2]
    loss, accuracy = clf.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
