"""The training layer (`nasplug._training`): seeds, callbacks, and what a network leaves behind."""

import gc
import json
import os
import subprocess
import sys

import keras
import keras_tuner as kt
import numpy as np
import pytest

import nasplug
from nasplug import _training
from nasplug.budget import TimeBudget
from nasplug.progress import SearchProgress

tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's graphs"
)

_SEEDS = """
import json, sys
from nasplug import _training
print(json.dumps([_training.trial_seed(7, i, fold) for i, fold in json.loads(sys.argv[1])]))
"""


def test_a_trial_seed_is_the_same_in_every_process():
    ids = [["00", 0], ["12", 1], ["worker-3/trial-a", 0], ["b7f3", 2], [5, 0]]
    seeds = []
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        done = subprocess.run(
            [sys.executable, "-c", _SEEDS, json.dumps(ids)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        seeds.append(json.loads(done.stdout))
    assert seeds[0] == seeds[1]
    # Numbered trials keep the seeds they always had: the search's seed plus the number.
    stride = _training.FOLD_SEED_STRIDE
    assert seeds[0][:2] == [7, 7 + 12 + stride]
    assert seeds[0][4] == 12
    # Other ids spread over many seeds.
    assert len(set(seeds[0])) == len(ids)


def test_importing_the_budget_and_progress_loads_no_keras():
    probe = (
        "import sys, nasplug.budget, nasplug.progress; "
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.strip() == "[]"


def test_callbacks_are_the_layers_and_keep_their_owner_when_copied():
    import copy

    budget = TimeBudget(60)
    display = SearchProgress(verbose=0)
    stop, progress = budget.callback(), display.epoch_callback()
    assert isinstance(stop, _training.StopOverBudget)
    assert isinstance(progress, _training.EpochProgress)
    # Tuners deep-copy callbacks per trial: the copies share the clock and the display.
    assert copy.deepcopy(stop).budget is budget
    assert copy.deepcopy(progress).display is display


def build_model(hp):
    model = keras.Sequential([keras.Input((8,))])
    model.add(keras.layers.Dense(hp.Choice("units", [4, 8, 16]), activation="relu"))
    model.add(keras.layers.Dense(2, activation="softmax"))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data():
    x = np.random.default_rng(0).normal(size=(96, 8)).astype("float32")
    return x, (x[:, 0] > 0).astype(int)


def _training_graphs():
    """The traced training steps alive in this process, once the collector ran."""
    from tensorflow.python.framework import func_graph

    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, func_graph.FuncGraph) and "step" in o.name]


@tensorflow_only
def test_trained_networks_leave_no_traced_step_behind():
    x, y = _data()
    before = len(_training_graphs())
    hp = kt.HyperParameters()
    for seed in range(3):
        # More steps than EAGER_STEPS: the step is traced into a graph.
        trained = _training.train(
            _training.Training(_Build(), hp, x, y, epochs=2, batch_size=8, seed=seed)
        )
        assert trained.model.train_function is None  # dropped once trained
    del trained
    assert len(_training_graphs()) == before


class _Build(kt.HyperModel):
    def build(self, hp):
        return build_model(hp)


@tensorflow_only
def test_a_kerastuner_search_leaves_no_traced_step_behind(tmp_path):
    x, y = _data()
    before = len(_training_graphs())
    tuner = nasplug.EvolutionSearch(
        build_model, objective="val_accuracy", max_trials=3, seed=0, directory=tmp_path
    )
    tuner.search(x, y, validation_split=0.25, epochs=2, batch_size=8, verbose=0)
    assert len(tuner.oracle.trials) == 3
    assert len(_training_graphs()) == before
    assert gc.get_freeze_count() == 0  # the search gave its objects back to the collector


def test_a_search_inside_a_search_leaves_the_outer_one_frozen():
    with _training.collections_of_the_search():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with _training.collections_of_the_search():
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0


def test_an_epoch_is_priced_without_the_trace_when_a_network_trains_one_epoch():
    # A network the time budget cut after its first epoch: that epoch also traced the
    # training step, which costs far more than a few steps of a tiny network.
    clock = _training.EpochClock()
    x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[clock])

    assert clock.first_steps == [8] and len(clock.firsts) == 1
    assert clock.epoch_seconds() < 0.5 * clock.firsts[0]
    assert clock.trace_seconds() > 0.5 * clock.firsts[0]
    assert clock.timed_epochs() == 1
    # A second epoch is timed as it is.
    model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=[clock])
    assert clock.epoch_seconds() == clock.epochs[-1]


def test_a_network_stopped_in_its_first_batch_times_no_epoch():
    class StopAtOnce(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    clock = _training.EpochClock()
    x = np.zeros((256, 8), "float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, np.zeros(256), epochs=3, verbose=0, callbacks=[clock, StopAtOnce()])

    assert clock.first_steps == [1] and clock.timed_epochs() == 0
