"""Training a supernet and scoring candidates with its shared weights.

`SupernetTrainer` is what a weight-sharing strategy is handed: it owns the supernet and the
search's data, and offers the strategy a handful of operations, so that a strategy never
sees a network or an array:

- `train(steps, sample, seed)`: single-path training, each step on the architecture
  `sample()` returns (uniform samples: RSPS and SPOS; a controller's: ENAS);
- `score(values)`: a candidate's validation score with the shared weights;
- `train_relaxed(...)`: gradient-based search, network weights on the training part and
  architecture weights on the validation part, alternating;
- `save(tag)` / `load(tag)`: every variable (network, optimizers, architecture, batch
  statistics, random generators) in the search's directory, for an exact resume.

A candidate is scored with batch normalisation on the validation batch's own statistics
and without dropout: the moving statistics of a weight-sharing network mix every path
trained, so each candidate's statistics are recomputed, as one-shot methods do.
"""

import contextlib
import math
import os
import time

import keras
import numpy as np

from nasplug import _compat

# Validation sets up to this many samples are scored in one batch.
SCORE_BATCH = 1024
# The progress line is redrawn at most this often (seconds).
_REDRAW = 0.5


class SupernetTrainer:
    """Trains a `Supernet` on a search's data and scores candidates with it.

    Args:
        supernet: The `nasplug.oneshot.Supernet`.
        train: `(x, y)`: the training part (arrays, or dicts of arrays for x).
        validation: `(x, y)`: the validation part, that candidates are scored on.
        batch_size: Int, the training batch size.
        epochs: Int, the epochs of one trial's training (a phase's default length).
        directory: Where checkpoints are written.
        time_left: Optional callable returning the seconds left to the search.
        display: Optional progress display (a `nasplug.progress.SearchProgress`).
    """

    def __init__(
        self,
        supernet,
        train,
        validation,
        batch_size=32,
        epochs=1,
        directory=None,
        time_left=None,
        display=None,
    ):
        self.supernet = supernet
        self.model = supernet.model
        self.x, self.y = train
        self.x_val, self.y_val = validation
        self.samples = len(self.y)
        if self.samples < 1 or len(self.y_val) < 1:
            raise ValueError("Weight-sharing search needs training and validation samples.")
        self.batch_size = int(min(batch_size, self.samples))
        self.steps_per_epoch = max(1, math.ceil(self.samples / self.batch_size))
        self.epochs = int(epochs)
        self.directory = directory
        self._time_left = time_left
        self.display = display
        loss = self.model.loss
        self.classification = isinstance(loss, str) and "categorical_crossentropy" in loss
        self.loss = keras.losses.get(loss)
        self.optimizer = self.model.optimizer
        self.optimizer.build(self.model.trainable_variables)
        self.architecture_optimizer = None
        # Draws a stochastic relaxation's samples (saved with the checkpoints).
        self.seed_generator = keras.random.SeedGenerator(0)
        self.steps = 0
        self._functions = {}
        self._shown = 0.0

    @property
    def decisions(self):
        """The decisions the supernet covers: name -> tuple of options."""
        return dict(self.supernet.architecture.options)

    def candidate_space(self, hyperparameters):
        """See `Supernet.candidate_space`."""
        return self.supernet.candidate_space(hyperparameters)

    def time_left(self):
        """Seconds left to the search (infinite without a time budget)."""
        return math.inf if self._time_left is None else float(self._time_left())

    # -- single-path training and scoring ------------------------------------------------

    def train(self, steps, sample, seed, deadline=math.inf, what="supernet"):
        """Trains the shared weights for `steps` steps, one sampled architecture each.

        Args:
            steps: Int, optimizer steps.
            sample: Callable returning a dict of hyperparameter values for each step.
            seed: Int seeding the order of the training batches.
            deadline: `time.monotonic()` at which training stops early.
            what: Shown on the progress line.

        Returns:
            The number of steps taken.
        """
        step = self._function("train", relaxed=False)
        batches = self._batches(seed)
        # Traced here, an optimizer's step registers custom gradients that would keep the
        # whole supernet's graph alive in TensorFlow's registry after the search.
        with _compat.custom_gradients_dropped():
            for done in range(steps):
                if time.monotonic() >= deadline:
                    return done
                self.supernet.set_architecture(sample())
                rows = next(batches)
                step(_take(self.x, rows), _take(self.y, rows))
                self.steps += 1
                self.show(f"{what} step {done + 1}/{steps}")
        return steps

    def score(self, values):
        """The validation score of the architecture of `values` with the shared weights.

        Returns:
            A float, higher is better: for classification the accuracy, its ties broken
            by the cross-entropy (less than a hundred-thousandth); otherwise minus the loss.
        """
        self.supernet.set_architecture(values)
        evaluate = self._function("evaluate", relaxed=False)
        total_loss, total_correct, n = 0.0, 0.0, len(self.y_val)
        with _compat.custom_gradients_dropped():
            for start in range(0, n, SCORE_BATCH):
                rows = np.arange(start, min(n, start + SCORE_BATCH))
                loss, correct = evaluate(_take(self.x_val, rows), _take(self.y_val, rows))
                total_loss += float(loss)
                total_correct += float(correct)
        loss = total_loss / n
        if not math.isfinite(loss):
            return -math.inf
        if self.classification:
            return total_correct / n - 1e-5 * loss / (1.0 + loss)
        return -loss

    # -- gradient-based search -----------------------------------------------------------

    def train_relaxed(
        self,
        steps,
        seed,
        relaxation,
        learning_rate,
        regularization=None,
        deadline=math.inf,
    ):
        """Alternates architecture steps on validation batches and weight steps on training ones.

        First-order: the architecture's gradient is taken at the current weights.

        Args:
            steps: Int, steps of each kind.
            seed: Int seeding the batches' order.
            relaxation: Callable `(name, alpha) -> weights` mixing a decision's options.
            learning_rate: The architecture weights' Adam learning rate.
            regularization: Optional callable `(alphas, progress) -> loss` added to the
                architecture's validation loss; `progress` runs from 0 to 1 over `steps`.
            deadline: `time.monotonic()` at which training stops early.

        Returns:
            The number of steps taken.
        """
        architecture = self.supernet.architecture
        alphas = [
            architecture.alpha[n] for n, options in architecture.options.items() if len(options) > 1
        ]
        if self.architecture_optimizer is None:
            # DARTS's optimizer of the architecture (Adam, beta_1 0.5, weight decay).
            self.architecture_optimizer = keras.optimizers.Adam(
                learning_rate=learning_rate, beta_1=0.5, weight_decay=1e-3
            )
            self.architecture_optimizer.build(alphas)
        architecture.relaxation = relaxation
        try:
            with _compat.custom_gradients_dropped():
                weights_step = self._function("train", relaxed=True)
                architecture_step = self._function(
                    "architecture", relaxed=True, alphas=alphas, regularization=regularization
                )
                batches = self._batches(seed)
                validation = self._batches(seed + 1, self.y_val)
                for done in range(steps):
                    if time.monotonic() >= deadline:
                        return done
                    rows = next(validation)
                    progress = keras.ops.convert_to_tensor(done / max(1, steps - 1), "float32")
                    architecture_step(_take(self.x_val, rows), _take(self.y_val, rows), progress)
                    rows = next(batches)
                    weights_step(_take(self.x, rows), _take(self.y, rows))
                    self.steps += 1
                    self.show(f"supernet (relaxed) step {done + 1}/{steps}")
                return steps
        finally:
            architecture.relaxation = None

    # -- saving --------------------------------------------------------------------------

    def _variables(self):
        variables = list(self.model.variables) + list(self.optimizer.variables)
        variables += self.supernet.architecture.variables() + [self.seed_generator.state]
        if self.architecture_optimizer is not None:
            variables += list(self.architecture_optimizer.variables)
        return variables

    def _path(self, tag):
        return os.path.join(self.directory, f"supernet_{tag}.npz")

    def save(self, tag):
        """Writes every variable to `supernet_<tag>.npz` in the directory (atomically)."""
        os.makedirs(self.directory, exist_ok=True)
        arrays = {f"v{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(self._variables())}
        arrays["steps"] = np.array(self.steps)
        tmp = self._path(tag)[: -len(".npz")] + f".{os.getpid()}.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, self._path(tag))

    def load(self, tag, architecture_learning_rate=None):
        """Reads the variables `save(tag)` wrote.

        Args:
            tag: The checkpoint's tag.
            architecture_learning_rate: For a gradient-based search's checkpoint, the
                architecture optimizer's learning rate (its state is in the file).
        """
        path = self._path(tag)
        if not os.path.exists(path):
            raise RuntimeError(
                f"Cannot resume the search: its supernet's checkpoint {path} is missing. "
                "Start a new search with overwrite=True or another directory."
            )
        with np.load(path) as saved:
            arrays = [saved[f"v{i}"] for i in range(len(saved.files) - 1)]
            self.steps = int(saved["steps"])
        if architecture_learning_rate is not None and self.architecture_optimizer is None:
            architecture = self.supernet.architecture
            alphas = [architecture.alpha[n] for n, o in architecture.options.items() if len(o) > 1]
            self.architecture_optimizer = keras.optimizers.Adam(
                learning_rate=architecture_learning_rate, beta_1=0.5, weight_decay=1e-3
            )
            self.architecture_optimizer.build(alphas)
        variables = self._variables()
        if len(variables) != len(arrays):
            raise RuntimeError(
                f"Cannot resume the search: the supernet's checkpoint {path} holds "
                f"{len(arrays)} variables, this supernet {len(variables)}."
            )
        for variable, array in zip(variables, arrays):
            variable.assign(array)

    def remove(self, tag):
        """Deletes a checkpoint no longer needed (nothing if absent)."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._path(tag))

    # -- internals -----------------------------------------------------------------------

    def _batches(self, seed, y=None):
        """Endless batches of row indices: one shuffled pass after another."""
        n = len(self.y if y is None else y)
        size = min(self.batch_size, n)
        rng = np.random.default_rng(seed)
        stream = np.empty(0, dtype=np.int64)
        while True:
            while len(stream) < size:
                stream = np.concatenate([stream, rng.permutation(n)])
            yield stream[:size]
            stream = stream[size:]

    def _function(self, kind, relaxed, alphas=None, regularization=None):
        # A relaxed step is traced for one relaxation; another one replaces it, so a
        # search keeps one graph of each kind of step, however many phases it runs.
        relaxation = self.supernet.architecture.relaxation if relaxed else None
        cached = self._functions.get((kind, relaxed))
        if cached is None or cached[0] is not relaxation:
            cached = (relaxation, _trace(self, kind, alphas, regularization))
            self._functions[(kind, relaxed)] = cached
        return cached[1]

    def show(self, text, done=False):
        """Shows the supernet's progress on the search's display (if it has a line for it).

        Args:
            text: What is being done.
            done: Whether this ends a phase (always shown, also off a terminal).
        """
        if self.display is None or not hasattr(self.display, "on_activity"):
            return
        now = time.monotonic()
        if done or now - self._shown >= _REDRAW:
            self._shown = now
            self.display.on_activity(text, done=done)


def _trace(trainer, kind, alphas, regularization):
    import tensorflow as tf

    model, loss_fn = trainer.model, trainer.loss
    architecture = trainer.supernet.architecture

    def mean_loss(y, predictions):
        return keras.ops.mean(loss_fn(y, predictions))

    if kind == "train":
        variables = model.trainable_variables

        def step(x, y):
            with tf.GradientTape() as tape:
                loss = mean_loss(y, model(x, training=True))
            grads = tape.gradient(loss, variables)
            pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
            trainer.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
            return loss

    elif kind == "architecture":

        def step(x, y, progress):
            with tf.GradientTape() as tape:
                loss = mean_loss(y, model(x, training=True))
                if regularization is not None:
                    loss = loss + regularization(alphas, progress)
            grads = tape.gradient(loss, alphas)
            trainer.architecture_optimizer.apply(grads, alphas)
            return loss

    else:

        def step(x, y):
            architecture.batch_statistics = True
            try:
                predictions = model(x, training=False)
            finally:
                architecture.batch_statistics = False
            losses = loss_fn(y, predictions)
            if trainer.classification:
                labels = keras.ops.cast(keras.ops.reshape(y, (-1,)), "int32")
                hits = keras.ops.argmax(predictions, axis=-1) == labels
                correct = keras.ops.sum(keras.ops.cast(hits, "float32"))
            else:
                correct = keras.ops.zeros(())
            return keras.ops.sum(losses), correct

    return tf.function(step, reduce_retracing=True, autograph=False)


def _take(data, rows):
    if isinstance(data, dict):
        return {name: value[rows] for name, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(value[rows] for value in data)
    return data[rows]
