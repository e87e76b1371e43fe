"""Training one network: the layer under every trial, refit and screening rung.

The estimators' trials and refits train through `train`, given a `Training` that holds
everything a network's training depends on. The KerasTuner and AutoKeras tuners keep their
hosts' own `fit` (a user's `HyperModel.fit`, AutoKeras's preprocessing) and take the rest
from here: the callbacks of the time budget, the progress line and continued training, and
`release` between networks.

What this layer does for every network:

- Seeds it (`seeded`, `trial_seed`): the same trial trains the same way in every process.
- Builds its optimizer and metric variables before `fit` traces the training step, so the
  step is traced once rather than twice (`nasplug._compat.build_training_state`), and runs
  a network of a few steps eagerly, where tracing would cost more than it saves.
- Feeds arrays through one `tf.data` pipeline for all epochs (`fit_data`).
- Leaves nothing behind once trained (`release`, `ReleasesTrials`): a long search
  stays flat in memory.
"""

import contextlib
import copy
import dataclasses
import gc
import math
import os
import random
import time
import typing
import zlib

import keras
import keras_tuner
import numpy as np

from nasplug import _compat, _quiet

# Up to this many optimizer steps in one training, eager execution beats tracing a
# TensorFlow graph (about 1 s per network); beyond it, on a busy CPU, each eager step
# costs several times a graph step.
EAGER_STEPS = 10
# Arrays up to this size train from one `tf.data` pipeline that runs through every epoch.
PIPELINE_MAX_BYTES = 1 << 30
# Apart by more than any search's trials, so that no fold's seed is another trial's.
FOLD_SEED_STRIDE = 1_000_003
# Trial ids that are not numbers map to this many seeds.
_ID_SEEDS = 100_000


@contextlib.contextmanager
def seeded(seed):
    """Seeds Keras (weights, dropout, shuffling) without disturbing the caller.

    Keras draws from Python's, NumPy's and the backend's global generators; they are
    seeded here and Python's and NumPy's global states are restored afterwards, so
    training a network leaves the user's global random streams as they were.

    Args:
        seed: Int.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    keras.utils.set_random_seed(int(seed))
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def trial_seed(seed, trial_id, fold=0):
    """The seed a trial's network trains with: the same in every process.

    Args:
        seed: Int, the search's seed.
        trial_id: The trial's id. KerasTuner's ids are numbers ("00", "01", ...), which
            are added to `seed`; any other id adds its CRC-32 (never Python's `hash`,
            which differs from one process to the next).
        fold: Int, the fold of a cross-validated trial; each fold's network starts from
            other weights, as separate trials would.

    Returns:
        Int.
    """
    return int(seed) + _trial_number(trial_id) + FOLD_SEED_STRIDE * int(fold)


def _trial_number(trial_id):
    try:
        return int(trial_id)
    except (TypeError, ValueError):
        return zlib.crc32(str(trial_id).encode("utf-8")) % _ID_SEEDS


# Not compared: its fields hold arrays.
@dataclasses.dataclass(frozen=True, eq=False)
class Training:
    """Everything one network's training depends on.

    Attributes:
        hypermodel: A `keras_tuner.HyperModel` returning compiled models.
        hyperparameters: The `keras_tuner.HyperParameters` to build.
        x, y: Training data.
        epochs: Int, the epoch training ends at (Keras's `epochs`).
        batch_size: Int.
        seed: Int seeding the weights, dropout and shuffling.
        initial_epoch: Int, the epoch training starts from (a continued network's).
        validation_data: Optional `(x, y)` or `(x, y, sample_weight)`, evaluated every
            epoch for the callbacks.
        sample_weight: Optional weight of each training sample in the loss.
        callbacks: Keras callbacks; every training gets fresh copies.
        verbose: Keras's `fit` verbosity.
        check: Optional callable given the built model before training (raises to fail).
    """

    hypermodel: typing.Any
    hyperparameters: typing.Any
    x: typing.Any
    y: typing.Any
    epochs: int
    batch_size: int = 32
    seed: int = 0
    initial_epoch: int = 0
    validation_data: typing.Any = None
    sample_weight: typing.Any = None
    callbacks: tuple = ()
    verbose: int = 0
    check: typing.Any = None

    def replace(self, **changes):
        """This training with some of its fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def steps(self):
        """Optimizer steps from `initial_epoch` to `epochs`."""
        return steps_per_epoch(len(self.y), self.batch_size) * (self.epochs - self.initial_epoch)


class Trained(typing.NamedTuple):
    """A trained network, its `keras.callbacks.History` and the seconds `fit` took."""

    model: typing.Any
    history: typing.Any
    fit_seconds: float


def train(training):
    """Builds a network from hyperparameter values and trains it.

    Args:
        training: A `Training`.

    Returns:
        A `Trained`.
    """
    release()
    with _compat.custom_gradients_dropped(), seeded(training.seed):
        model = training.hypermodel.build(training.hyperparameters)
        if not isinstance(model, keras.Model):
            raise keras_tuner.errors.FatalTypeError(
                f"The search space must build a keras.Model; got {type(model).__name__}."
            )
        if training.check is not None:
            training.check(model)
        model.run_eagerly = training.steps <= EAGER_STEPS
        _compat.build_training_state(model, (training.x, training.y, training.sample_weight))
        data = fit_data(
            training.x,
            training.y,
            training.sample_weight,
            training.validation_data,
            training.batch_size,
        )
        fit_start = time.perf_counter()
        history = model.fit(
            **data,
            epochs=training.epochs,
            initial_epoch=training.initial_epoch,
            callbacks=copy.deepcopy(list(training.callbacks)),
            verbose=training.verbose,
        )
        fit_seconds = time.perf_counter() - fit_start
    forget_training(model)
    return Trained(model, history, fit_seconds)


def release():
    """Lets go of the networks trained before; call before building the next one.

    Keras's global state is reset (layer name counters start again, so the same values
    build the same names). Inside a search (`collections_of_the_search`) the networks
    trained before are also collected now, which is cheap there: their memory, and an
    accelerator's, is free before the next network takes its own. Elsewhere Python's
    collector frees them in its own time.
    """
    keras.backend.clear_session(free_memory=False)
    if gc.get_freeze_count():
        gc.collect()


@contextlib.contextmanager
def collections_of_the_search():
    """Makes Python's garbage collections during a search walk only what the search made.

    A full collection walks every object Python tracks: with TensorFlow loaded, some
    hundreds of thousands, a good part of a second. KerasTuner collects twice before it
    builds each trial's model (`Tuner._try_build`), and a search's networks, held in
    reference cycles, are freed by such collections. The objects that exist when the
    search begins (the libraries, the data) are set aside for its duration (`gc.freeze`),
    so each collection walks only the objects the search made; the networks of finished
    trials are freed as before. They are given back to the collector when the search
    ends. A process that froze objects itself, or a search inside a search, is left as
    it is.
    """
    if gc.get_freeze_count():
        yield
        return
    # What is garbage already is freed now rather than set aside with the rest.
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class ReleasesTrials:
    """Mixin for a KerasTuner tuner: a trial leaves nothing behind in the process.

    A search runs within `collections_of_the_search`, and every trial's networks, their
    traced steps, histories, callbacks and data pipelines are freed once it ends, also
    what TensorFlow would keep in process-wide registries
    (`nasplug._compat.custom_gradients_dropped`). TensorFlow's warning about frequent
    retracing, which the many networks of a search set off, is dropped while it runs
    (`nasplug._quiet.many_networks`). Place it before the host tuner class.
    """

    def search(self, *args, **kwargs):
        with collections_of_the_search(), _quiet.many_networks():
            return super().search(*args, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        with _compat.custom_gradients_dropped():
            return super().run_trial(trial, *args, **kwargs)


def forget_training(model):
    """Drops the traced steps a trained network keeps only for its `fit`.

    The network still predicts and evaluates (Keras traces those anew when asked) and
    can train again; a network kept after its training (the best of a search) no longer
    holds the graphs of its training.
    """
    for name in ("train_function", "test_function", "predict_function"):
        setattr(model, name, None)


# -- the data pipeline ---------------------------------------------------------------------


def fit_data(x, y, sample_weight, validation_data, batch_size):
    """`model.fit`'s data arguments: one pipeline for all epochs where it can be.

    Given arrays, Keras builds a new `tf.data` iterator for every epoch, and another
    for every epoch's validation: tens of milliseconds each, which on the small sets
    the estimators are made for is most of an epoch. On the TensorFlow backend, arrays
    (numbers, up to `PIPELINE_MAX_BYTES`) become a pipeline that repeats, and Keras
    keeps its iterator from epoch to epoch. The batches are Keras's own: its adapter,
    seeded as `seeded` seeds it, draws one permutation and every epoch passes over the
    samples in that order, in batches of `batch_size` with a smaller last one; the
    pipeline draws the same permutation the same way, so a network trains exactly as it
    would from the arrays. Validation is one pass in order. Anything else goes to Keras
    as it is.

    Returns:
        A dict of keyword arguments for `keras.Model.fit`.
    """
    train_arrays = (x, y) if sample_weight is None else (x, y, sample_weight)
    arrays = train_arrays + (tuple(validation_data) if validation_data is not None else ())
    if not _pipeline_fits(arrays):
        return dict(
            x=x,
            y=y,
            sample_weight=sample_weight,
            validation_data=validation_data,
            batch_size=batch_size,
            shuffle=True,
        )
    data = dict(
        x=_repeating_batches(train_arrays, batch_size, shuffle=True),
        steps_per_epoch=steps_per_epoch(len(y), batch_size),
        shuffle=False,  # the pipeline's order
    )
    if validation_data is not None:
        data.update(
            validation_data=_repeating_batches(tuple(validation_data), batch_size, shuffle=False),
            validation_steps=steps_per_epoch(len(validation_data[1]), batch_size),
        )
    return data


def rows(x, index):
    """The rows `index` (an index array or a slice) of a network's input: an array, or a
    dict / list / tuple of arrays."""
    if isinstance(x, dict):
        return {name: value[index] for name, value in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(value[index] for value in x)
    return x[index]


def _pipeline_fits(arrays):
    return (
        keras.backend.backend() == "tensorflow"
        and all(isinstance(a, np.ndarray) and a.dtype.kind in "biuf" and len(a) > 0 for a in arrays)
        and sum(a.nbytes for a in arrays) <= PIPELINE_MAX_BYTES
    )


def _repeating_batches(arrays, batch_size, shuffle):
    """Batches of `arrays`, repeated: every pass in one order (shuffled if `shuffle`)."""
    import tensorflow as tf

    # Floats in Keras's float type, as its adapter converts them.
    tensors = tuple(
        tf.convert_to_tensor(a.astype(keras.backend.floatx()) if a.dtype.kind == "f" else a)
        for a in arrays
    )
    n = len(arrays[0])

    def permutation(_):
        # As Keras's array adapter draws it (`ArrayDataAdapter.get_tf_dataset`), cached:
        # under a global seed Keras's is the same permutation every epoch.
        indices = tf.range(n, dtype=tf.int64)
        if shuffle:
            indices = tf.random.shuffle(indices)
        return indices

    passes = tf.data.Dataset.range(1).map(permutation).cache().repeat()
    batches = passes.flat_map(lambda i: tf.data.Dataset.from_tensor_slices(i).batch(batch_size))
    return batches.map(lambda i: tuple(tf.gather(t, i) for t in tensors)).prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(n_samples, batch_size):
    """Optimizer steps of one epoch over `n_samples` (a smaller last batch counts)."""
    return max(1, math.ceil(n_samples / batch_size))


# -- callbacks -----------------------------------------------------------------------------


class StopOverBudget(keras.callbacks.Callback):
    """Stops training at the end of the batch that spends a `nasplug.budget.TimeBudget`.

    Args:
        budget: The `TimeBudget`.
    """

    def __init__(self, budget):
        super().__init__()
        self.budget = budget

    def __deepcopy__(self, memo):
        # Tuners deep-copy callbacks for every trial; every copy keeps the one clock.
        return type(self)(self.budget)

    def on_train_batch_end(self, batch, logs=None):
        self.budget.stop_training(self.model)


class EpochClock(keras.callbacks.Callback):
    """Times the training steps of every epoch, its validation left out.

    Every copy of it (tuners and `train` deep-copy callbacks) is this one clock, so that
    it times all the networks of a trial (a cross-validated trial's folds).

    A network's first epoch also traces the training step, in its first batch. When a
    network trains for one epoch only (a trial the time budget cut, a short screening
    round), that epoch is all there is to time: its steps are then priced without the
    first batch, from the others, so that the trace is not taken for the cost of an epoch.

    Attributes:
        epochs: Seconds of each epoch's training steps, in order, over every network.
        firsts: Those of each network's first epoch (which also traces the step).
        first_batches: Seconds of each network's first batch (the trace and one step),
            None where it was not timed.
        first_steps: The steps of each network's first epoch.
    """

    def __init__(self):
        super().__init__()
        self.epochs, self.firsts = [], []
        self.first_batches, self.first_steps = [], []
        self._began = None
        self._batch_began = None
        self._first_batch = None
        self._first = False
        self._steps = 0

    def __deepcopy__(self, memo):
        return self

    def on_train_begin(self, logs=None):
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        self._began = time.perf_counter()
        self._steps = 0
        self._first_batch = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._first and self._steps == 0:
            self._batch_began = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        if self._batch_began is not None:
            self._first_batch = time.perf_counter() - self._batch_began
            self._batch_began = None

    def on_test_begin(self, logs=None):
        self._stop()

    def on_epoch_end(self, epoch, logs=None):
        self._stop()

    def _stop(self):
        if self._began is None:
            return
        seconds = time.perf_counter() - self._began
        self._began = None
        self.epochs.append(seconds)
        if self._first:
            self.firsts.append(seconds)
            self.first_batches.append(self._first_batch)
            self.first_steps.append(self._steps)
            self._first = False

    def epoch_seconds(self):
        """The median epoch's seconds, without a first epoch's trace.

        The median of the epochs after each network's first (a busy moment left out);
        when every network trained one epoch, the median of those first epochs, each
        priced from its steps after the first batch.
        """
        later = list(self.epochs)
        for first in self.firsts:
            later.remove(first)
        if later:
            return float(np.median(later))
        if not self.firsts:
            return 0.0
        priced = []
        for seconds, batch, steps in zip(self.firsts, self.first_batches, self.first_steps):
            if batch is None or steps < 2:
                priced.append(seconds)  # nothing but the traced batch to go by
            else:
                priced.append((seconds - batch) * steps / (steps - 1))
        return float(np.median(priced))

    def timed_epochs(self):
        """How many epochs `epoch_seconds` rests on: 0 when every network was stopped
        in its first batch, so that only the step's trace was timed."""
        clean = sum(
            batch is not None and steps >= 2
            for batch, steps in zip(self.first_batches, self.first_steps)
        )
        return len(self.epochs) - len(self.firsts) + clean

    def trace_seconds(self):
        """What a network's first epoch took beyond the median epoch, on average."""
        if not self.firsts:
            return 0.0
        return max(0.0, float(np.mean(self.firsts)) - self.epoch_seconds())


def over_budget(callbacks):
    """Whether a time budget that one of `callbacks` stops training for is spent."""
    return any(
        (isinstance(c, StopOverBudget) and c.budget.spent)
        or (isinstance(c, EpochProgress) and c.display.over_budget())
        for c in callbacks
    )


class EpochProgress(keras.callbacks.Callback):
    """Reports epochs to a `nasplug.progress.SearchProgress`; stops training over budget.

    Args:
        display: The `SearchProgress`.
    """

    def __init__(self, display):
        super().__init__()
        self.display = display

    def __deepcopy__(self, memo):
        # Tuners deep-copy callbacks for every trial; every copy must report to the same
        # display, not to a copy of it (and of its oracle).
        return type(self)(self.display)

    def on_train_batch_end(self, batch, logs=None):
        if self.display.budget is not None:
            self.display.budget.stop_training(self.model)

    def on_epoch_end(self, epoch, logs=None):
        self.display.on_epoch_end(epoch, self.params.get("epochs"))
        if self.display.budget is not None:
            self.display.budget.stop_training(self.model)


def budget_of(callbacks):
    """The `nasplug.budget.TimeBudget` that one of `callbacks` stops training for, or None."""
    for callback in callbacks:
        if isinstance(callback, StopOverBudget):
            return callback.budget
        if isinstance(callback, EpochProgress) and callback.display.budget is not None:
            return callback.display.budget
    return None


class ContinueTraining(keras.callbacks.Callback):
    """Loads the network a trial continues before training, and saves it after.

    Args:
        load_from: Weights file (optimizer state included) to start from, or None.
        save_to: Weights file to write when training ends, or None.
    """

    def __init__(self, load_from=None, save_to=None):
        super().__init__()
        self.load_from = load_from
        self.save_to = save_to

    def on_train_begin(self, logs=None):
        if self.load_from is None:
            return
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            # The weights file holds the optimizer's state too; an unbuilt optimizer would
            # skip it.
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(self.load_from)

    def on_train_end(self, logs=None):
        if self.save_to is None:
            return
        # Write-then-rename: a process killed mid-write leaves no half file for the
        # worker continuing the network.
        stem = self.save_to[: -len(".weights.h5")]
        tmp = f"{stem}.{os.getpid()}.weights.h5"
        self.model.save_weights(tmp)
        os.replace(tmp, self.save_to)
