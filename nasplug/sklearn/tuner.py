"""The KerasTuner tuner behind `NASClassifier` and `NASRegressor`.

A trial builds a network, trains it (`nasplug._training`, the layer every network of
nasplug trains through) and reports a scikit-learn score on the validation data. In one
process the best network is kept in memory rather than checkpointed: the estimator needs
one model, and writing every trial's weights to disk is overhead the search does not need.
In a distributed search the process that trains a trial is a worker and the estimator that
needs the model is the chief's, so every trial's weights are written to its trial
directory (`keep_models=True`) for the chief to load.
"""

import math
import os
import time

import keras
import keras_tuner
import numpy as np

from nasplug import _compat, _training, live, measure, proxies, screening
from nasplug._training import (  # noqa: F401 -- importable from here as before
    EAGER_STEPS,
    FOLD_SEED_STRIDE,
    PIPELINE_MAX_BYTES,
    Training,
    seeded,
    steps_per_epoch,
)
from nasplug.budget import CUT_BY_BUDGET
from nasplug.distributed import roles
from nasplug.oneshot._tuner import SupernetTuner

OBJECTIVE = "score"

# A trial trains for at least this many epochs and this many optimizer steps, unless
# the user sets `epochs`: on a few dozen samples 20 epochs are 20 to 40 steps, after
# which a convolutional network (GunPoint, 40 series) scored 0.55 on the test set;
# after 200 steps, 0.99. A fully convolutional network refitted on GunPoint's 50 series
# scored 0.68 after 250 steps and 0.99 after 500 and 1000 (ArrowHead: 0.66, 0.69).
MIN_EPOCHS = 20
MIN_STEPS = 500
# Early stopping reads the validation loss only after this many optimizer steps. Before
# them batch normalisation's moving statistics (momentum 0.99) lag behind the weights, so
# a network's validation loss is noise and often rises while it learns: on ArrowHead (29
# training series, one step an epoch) early stopping from the first epoch kept a
# convolutional network's weights of epoch 1 or 5 (test accuracy 0.30 and 0.42; 0.83 after
# its 250 epochs). On larger sets this is a few epochs.
WARMUP_STEPS = 125


class ScoringTuner(
    SupernetTuner,
    live.RecordsLiveValues,
    proxies.ScoresCandidates,
    _training.ReleasesTrials,
    _compat.ExploresEachScopeOnce,
    roles.ServesPromptly,
    keras_tuner.Tuner,
):
    """Trains each trial's network and scores it with a scikit-learn scorer.

    Args:
        oracle: A `keras_tuner.Oracle` maximizing the objective "score".
        hypermodel: A `keras_tuner.HyperModel` returning compiled models.
        score_model: Callable `(model) -> float`, the validation score of a model, or
            `(model) -> dict` of named validation scores, "score" among them.
        seed: Integer seed; each trial trains with a seed derived from it and its id
            (`nasplug._training.trial_seed`).
        max_model_size: Models with more parameters fail their trial.
        keep_models: Whether every trial's trained weights are saved in its trial
            directory, for `load_model` (a distributed search's chief needs them).
        full_epochs: Epochs of full training when the oracle schedules epochs (screening,
            Hyperband): a trial trained less saves its network for the trial that
            continues it (see `nasplug.screening.training_plan`).
        folds: Optional list of `(train_indices, validation_indices)` into the data
            `search` is given: each trial then trains one network per fold, validated on
            the fold's rows, `score_model` is called as `score_model(model, fold)` with
            the fold's number, and the trial's scores are the folds' means (its
            "score_std" their standard deviation). The oracle must not schedule epochs.
        score_name: What a trial's score is, in a few words, for the progress line
            ("accuracy (3-fold CV)"); None calls it by the objective's name.
        requeue_running: Whether the trials a reloaded project holds as running run
            again, by any worker: right when no worker that ran them outlived the search
            (a search in one process, or a chief that starts its workers anew). Defaults
            to whether this process is outside a distributed search.
        **kwargs: Passed to `keras_tuner.Tuner` (`directory`, `project_name`, ...).
    """

    def __init__(
        self,
        oracle,
        hypermodel,
        score_model,
        seed,
        max_model_size=None,
        keep_models=False,
        full_epochs=None,
        folds=None,
        score_name=None,
        requeue_running=None,
        **kwargs,
    ):
        super().__init__(oracle, hypermodel=hypermodel, **kwargs)
        roles.wait_for_workers(self.oracle)
        if requeue_running is None:
            requeue_running = roles.role() is None
        if requeue_running:
            # A resumed project's interrupted trial has no worker to finish it here: run
            # it again, announced like any trial.
            _compat.requeue_running_trials(self.oracle)
        self.score_model = score_model
        self.seed = int(seed)
        self.max_model_size = max_model_size
        self.keep_models = keep_models
        self.full_epochs = full_epochs
        self.folds = None if folds is None else [tuple(fold) for fold in folds]
        self.score_name = score_name
        self.best_model = None
        # A network trained longer ranks first, as the screening ranks them (`trial_rank`).
        self.best_rank = trial_rank(-math.inf, -math.inf, False)
        self.best_trial_id = None

    def on_search_begin(self):
        super().on_search_begin()
        # KerasTuner reloads a project only if it finds this tuner's file, which it first
        # writes when a trial ends; written now, a search stopped in its first trial
        # resumes too.
        self.save()

    def run_trial(self, trial, *fit_args, **fit_kwargs):
        start = time.perf_counter()
        budget = _training.budget_of(fit_kwargs.get("callbacks") or ())
        stopped_before = budget.stopped_trainings if budget is not None else 0
        training = self._training_of(trial, *fit_args, **fit_kwargs)
        clock = _training.EpochClock()
        if self.folds is None:
            model, history, fit_seconds = _training.train(
                training.replace(callbacks=training.callbacks + (clock,))
            )
            scores = self._scores(model, history)
            useful_epochs = training.initial_epoch + _useful_epochs(history, training.callbacks)
        else:
            model, scores, useful_epochs, fit_seconds = self._cross_validate(training, clock)
        size = model.count_params()
        score = scores[OBJECTIVE]
        cut = budget is not None and budget.stopped_trainings > stopped_before
        if self.keep_models:
            self.save_model(trial.trial_id, model)
        rank = trial_rank(
            training.epochs if "tuner/epochs" in trial.hyperparameters.values else 0, score, cut
        )
        # A cross-validated trial's networks each saw part of the data: the estimator
        # retrains the best architecture on all of it, and keeps none of them.
        if self.folds is None and rank > self.best_rank:
            self.best_rank, self.best_model, self.best_trial_id = rank, model, trial.trial_id
        oracle = _compat.local_oracle(self.oracle)
        measured = measure.measure(
            model,
            [name for name in getattr(oracle, "measures", ()) if name != "params"],
            batch_size=getattr(oracle, "latency_batch_size", training.batch_size),
        )
        seconds = time.perf_counter() - start
        networks = len(self.folds) if self.folds is not None else 1
        return {
            **{name: float(value) for name, value in scores.items()},
            **measured,
            **({CUT_BY_BUDGET: 1.0} if cut else {}),
            "epochs": float(useful_epochs),
            "seconds": float(seconds),
            "fit_seconds": float(fit_seconds),
            # What retraining this architecture costs, for a refit planned within a time
            # budget (`nasplug.sklearn._budget`): an epoch's training steps, and what a
            # network costs besides its epochs (its build, scoring, the step's trace).
            "epoch_seconds": clock.epoch_seconds(),
            "setup_seconds": float((seconds - fit_seconds) / networks + clock.trace_seconds()),
            # 0 when the budget stopped every network in its first batch: the trace alone
            # was timed, which says nothing of an epoch's cost.
            "timed_epochs": float(clock.timed_epochs()),
            # Read by `nasplug.report` for its score-against-size plot.
            "params": float(size),
        }

    def _training_of(
        self,
        trial,
        x,
        y,
        validation_data,
        epochs=1,
        batch_size=32,
        callbacks=(),
        fit_verbose=0,
        sample_weight=None,
        **kwargs,
    ):
        """The `Training` of a trial's network, from the arguments given to `search`.

        Screening and Hyperband decide each trial's epochs, and which network it
        continues. Per-epoch validation only feeds callbacks (early stopping): without
        callbacks there is none, and the score is computed once at the end.
        """
        plan = screening.training_plan(trial, self.get_trial_dir, self.full_epochs)
        plan = plan if plan is not None else screening.TrainingPlan(epochs)
        callbacks = tuple(callbacks or ())
        return Training(
            self.hypermodel,
            trial.hyperparameters,
            x,
            y,
            epochs=plan.epochs,
            batch_size=batch_size,
            seed=_training.trial_seed(self.seed, trial.trial_id),
            initial_epoch=plan.initial_epoch,
            validation_data=validation_data if callbacks else None,
            sample_weight=sample_weight,
            callbacks=callbacks + tuple(plan.callbacks()),
            verbose=fit_verbose,
            check=self._check_size,
        )

    def _scores(self, model, history, *fold):
        """The named validation scores of a trained network; raises if it diverged."""
        losses = history.history.get("loss") or [0.0]
        if not np.isfinite(losses[-1]):
            # A diverged network predicts NaN, which argmax would read as class 0.
            raise keras_tuner.errors.FailedTrialError(
                f"Training diverged: the loss is {losses[-1]}."
            )
        scores = self.score_model(model, *fold)
        if not isinstance(scores, dict):
            scores = {OBJECTIVE: scores}
        if not all(np.isfinite(value) for value in scores.values()):
            raise keras_tuner.errors.FailedTrialError(
                f"The validation score is {scores[OBJECTIVE]}; the network diverged or the "
                "validation data is too small for this scoring."
            )
        return scores

    def _cross_validate(self, training, clock):
        """Trains and scores one network per fold of `training`'s data, timed by `clock`.

        A time budget spent after a fold leaves the remaining folds out.

        Returns:
            (the last fold's network, the mean of each score over the folds trained with
            "score_std" added, the mean of the folds' useful epochs rounded, the seconds
            spent in Keras's `fit`).
        """
        x, y, weights = training.x, training.y, training.sample_weight
        fold_scores, epochs, fit_seconds = [], [], 0.0
        budget = _training.budget_of(training.callbacks)
        stopped_before = budget.stopped_trainings if budget is not None else 0
        for number, (train_rows, validation_rows) in enumerate(self.folds):
            budget_cut = budget is not None and budget.stopped_trainings > stopped_before
            if number and _training.over_budget(training.callbacks):
                # Each further fold would build a network to train one batch: the trial
                # is scored on the folds it trained, and counts as one the budget cut.
                if budget is not None and not budget_cut:
                    budget.stopped_trainings += 1
                break
            validation = None
            if training.callbacks:
                validation = (_training.rows(x, validation_rows), y[validation_rows])
                if weights is not None:
                    validation += (weights[validation_rows],)
            model, history, seconds = _training.train(
                training.replace(
                    x=_training.rows(x, train_rows),
                    y=y[train_rows],
                    sample_weight=None if weights is None else weights[train_rows],
                    validation_data=validation,
                    seed=training.seed + FOLD_SEED_STRIDE * number,
                    callbacks=training.callbacks + (clock,),
                )
            )
            fit_seconds += seconds
            fold_scores.append(self._scores(model, history, number))
            epochs.append(_useful_epochs(history, training.callbacks))
        scores = {
            name: float(np.mean([scores[name] for scores in fold_scores]))
            for name in fold_scores[0]
        }
        scores["score_std"] = float(np.std([scores[OBJECTIVE] for scores in fold_scores]))
        return model, scores, int(round(float(np.mean(epochs)))), fit_seconds

    def trained_model(self, trial, *fit_args, **fit_kwargs):
        """The network `trial` trained, given the arguments the search was given.

        The best network of this process's trials is kept in memory. A trial an earlier
        process ran (the search was resumed) is trained again exactly as its trial
        trained it: same values, seed, data and callbacks.
        """
        if trial.trial_id == self.best_trial_id and self.best_model is not None:
            return self.best_model
        return _training.train(self._training_of(trial, *fit_args, **fit_kwargs)).model

    def _check_size(self, model):
        size = model.count_params()
        if self.max_model_size and size > self.max_model_size:
            raise keras_tuner.errors.FailedTrialError(
                f"Model has {size} parameters, more than max_model_size={self.max_model_size}."
            )

    def save_model(self, trial_id, model, step=0):
        model.save_weights(self._weights_file(trial_id))

    def _weights_file(self, trial_id):
        # The name KerasTuner gives its own checkpoints, where `nasplug.report` looks.
        return os.path.join(self.get_trial_dir(trial_id), "checkpoint.weights.h5")

    def load_model(self, trial):
        """Returns the network `trial` trained, rebuilt and given its saved weights."""
        _training.release()
        model = self.hypermodel.build(trial.hyperparameters)
        if model.optimizer is not None:
            # The saved weights include the trained optimizer's state; an unbuilt one
            # would skip it.
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self._weights_file(trial.trial_id))
        return model


def trial_rank(epochs, score, cut_by_budget):
    """What orders trials when the best is chosen: the highest rank wins.

    A network trained longer comes first whatever the scores (the screening's or
    Hyperband's short trainings do not compare with full ones); then the score; at equal
    scores, a trial the time budget cut short comes after one that trained as planned.

    Args:
        epochs: The epochs an oracle that schedules them gave the trial, else 0.
        score: The trial's score.
        cut_by_budget: Whether the time budget stopped its training.
    """
    return (epochs, score, 0 if cut_by_budget else 1)


def train_network(hypermodel, hp, seed, x, y, epochs, batch_size, **options):
    """Builds a network from hyperparameter values and trains it (see `nasplug._training`).

    Kept for code written against it; `nasplug._training.train` takes a `Training`.

    Args:
        hypermodel: A `keras_tuner.HyperModel` returning compiled models.
        hp: The `keras_tuner.HyperParameters` to build.
        seed: Int seeding the weights, dropout and shuffling.
        x, y: Training data.
        epochs, batch_size: As `keras.Model.fit` takes them.
        **options: The other fields of `Training` (`validation_data`, `callbacks`,
            `verbose`, `check`, `initial_epoch`, `sample_weight`).

    Returns:
        (model, history, seconds spent in Keras's `fit`).
    """
    training = Training(hypermodel, hp, x, y, epochs=epochs, batch_size=batch_size, seed=seed)
    return _training.train(training.replace(**options))


def epochs_for(n_samples, batch_size):
    """The default maximum epochs of a trial on `n_samples` training samples.

    Args:
        n_samples: Int, the number of training samples.
        batch_size: Int, the training batch size.

    Returns:
        At least `MIN_EPOCHS`, and enough for `MIN_STEPS` optimizer steps (so at most
        `MIN_STEPS` epochs, for a set that fits in one batch).
    """
    return int(max(MIN_EPOCHS, math.ceil(MIN_STEPS / steps_per_epoch(n_samples, batch_size))))


def warmup_epochs(n_samples, batch_size, epochs):
    """Epochs a trial trains before early stopping may stop it or pick its best epoch.

    Args:
        n_samples: Int, the number of training samples.
        batch_size: Int, the training batch size.
        epochs: Int, the trial's maximum epochs.

    Returns:
        Enough epochs for `WARMUP_STEPS` optimizer steps, and at most half of `epochs`.
    """
    return int(min(epochs // 2, math.ceil(WARMUP_STEPS / steps_per_epoch(n_samples, batch_size))))


def _useful_epochs(history, callbacks):
    """Epochs worth repeating when the best network is retrained on all data.

    With an early-stopping callback restoring the best weights, that is the epoch with
    the best monitored value; otherwise every epoch that ran.
    """
    ran = len(history.epoch)
    for callback in callbacks:
        if not (
            isinstance(callback, keras.callbacks.EarlyStopping) and callback.restore_best_weights
        ):
            continue
        values = history.history.get(callback.monitor)
        # The callback picks its best epoch among those from `start_from_epoch` on.
        start = getattr(callback, "start_from_epoch", 0)
        watched = [i for i, epoch in enumerate(history.epoch) if epoch >= start]
        if values and watched:
            maximize = callback.mode == "max" or (
                callback.mode == "auto" and any(word in callback.monitor for word in ("acc", "auc"))
            )
            pick = np.argmax if maximize else np.argmin
            return int(watched[int(pick([values[i] for i in watched]))]) + 1
    return max(ran, 1)
