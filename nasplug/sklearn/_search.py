"""The search of one `fit`: its tuner, how a trial's network is scored, and the run.

A trial's network is scored as the user would score the fitted estimator: a scikit-learn
scorer calls `predict` / `predict_proba` of a `view` of the estimator that holds the
network. Everything here reads the prepared data (`_fit_data.FitData`) and the
estimator's parameters; it sets nothing on the estimator.
"""

import contextlib
import dataclasses
import io
import warnings
from typing import Optional

import keras
import numpy as np
from sklearn.metrics import check_scoring

from nasplug import progress
from nasplug.distributed import roles
from nasplug.oracles import make_oracle
from nasplug.sklearn import _defaults, _params, hypermodels, resume, spaces
from nasplug.sklearn.tuner import OBJECTIVE, ScoringTuner, warmup_epochs


@dataclasses.dataclass
class TrialTraining:
    """How every trial of a search trains: its data and Keras's `fit` arguments.

    Attributes:
        x, y: The networks' training input and targets (standardised for a regression).
        sample_weight: The training rows' weights, or None.
        validation_data: `(x, y)` or `(x, y, sample_weight)` for the callbacks, or None
            when trials are cross-validated (each fold validates on its own rows).
        epochs: A trial's maximum epochs (`epochs_`).
        batch_size: The training batch size.
        callbacks: The trials' Keras callbacks (the default early stopping, or the user's).
        fit_verbose: Keras's `fit` verbosity.
    """

    x: object
    y: np.ndarray
    sample_weight: Optional[np.ndarray]
    validation_data: Optional[tuple]
    epochs: int
    batch_size: int
    callbacks: list
    fit_verbose: int

    def arguments(self, extra_callbacks=()):
        """`(args, kwargs)` of `ScoringTuner.search` and `ScoringTuner.trained_model`."""
        return (self.x, self.y), dict(
            sample_weight=self.sample_weight,
            validation_data=self.validation_data,
            epochs=self.epochs,
            batch_size=self.batch_size,
            callbacks=list(self.callbacks) + list(extra_callbacks),
            fit_verbose=self.fit_verbose,
        )


def trial_training(estimator, fit_data, hypermodel):
    """The `TrialTraining` of `estimator`'s search on `fit_data`."""
    validation = None
    if fit_data.folds is None:
        part = fit_data.validation
        validation = (
            fit_data.network_input(part.X),
            hypermodels.standardize_targets(hypermodel, part.y_model),
        )
        if part.sample_weight is not None:
            validation += (part.sample_weight,)
    return TrialTraining(
        x=fit_data.network_input(fit_data.train.X),
        y=hypermodels.standardize_targets(hypermodel, fit_data.train.y_model),
        sample_weight=fit_data.train.sample_weight,
        validation_data=validation,
        epochs=estimator.epochs_,
        batch_size=estimator.batch_size,
        callbacks=trial_callbacks(estimator, fit_data.n_train),
        fit_verbose=2 if estimator.verbose >= 2 else 0,
    )


def trial_callbacks(estimator, n_train):
    """The Keras callbacks of every trial: the user's, or early stopping on the validation loss."""
    if estimator.callbacks is not None:
        return list(estimator.callbacks)
    epochs = estimator.epochs_
    return [
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=max(_defaults.MIN_PATIENCE, epochs // _defaults.PATIENCE_DIVISOR),
            restore_best_weights=True,
            start_from_epoch=warmup_epochs(n_train, estimator.batch_size, epochs),
        )
    ]


def view(estimator, **attributes):
    """A shallow copy of a fitted (or being fitted) estimator, for scorers to call.

    A scorer calls `predict` / `predict_proba` of an estimator; the copy, holding a
    trial's network as `best_model_`, lends it those methods (made by hand: `copy.copy`
    would go through pickling's `__getstate__`).
    """
    copy = object.__new__(type(estimator))
    copy.__dict__.update(estimator.__dict__, **attributes)
    # The validation rows are already checked; column names were checked with them.
    copy.__dict__.pop("feature_names_in_", None)
    return copy


def score(scorer, estimator, X, y, sample_weight):
    """`scorer(estimator, X, y)`, with the sample weights when there are some."""
    if sample_weight is None:
        return scorer(estimator, X, y)
    return scorer(estimator, X, y, sample_weight=sample_weight)


def checked_scorer(estimator, fit_data):
    """The scorer of `scoring`, tried once on the validation rows before the search.

    A constant prediction (the class frequencies, the targets' mean) stands in for a
    network: a scorer that cannot score the task at all (`roc_auc` for three classes, a
    classification metric for a regression) fails on it as on any network.
    """
    scorer = check_scoring(estimator, scoring=estimator.scoring)
    constant = fit_data.targets.constant_output()
    stand_in = view(estimator)
    stand_in._model_output = lambda X: np.tile(constant, (len(X), 1))
    part = fit_data.validation
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score(scorer, stand_in, part.X, part.y, part.sample_weight)
    except Exception as error:  # a scorer raises whatever its metric raises
        message = str(error).strip().splitlines()
        raise ValueError(
            f"scoring={estimator.scoring!r} cannot score {fit_data.targets.description}: "
            f"{message[0] if message else type(error).__name__}"
        ) from None
    return scorer


def metric_name(estimator, task):
    """The name of what `scoring` measures: its scorer's name, or for the default
    scoring (the estimator's `score`) "accuracy" or "R²".

    Args:
        estimator: A `NASClassifier` / `NASRegressor`.
        task: "classification" or "regression".
    """
    if isinstance(estimator.scoring, str):
        return estimator.scoring
    if estimator.scoring is None:
        return "accuracy" if task == "classification" else "R²"
    return "score"


def score_name(estimator, fit_data):
    """What a trial's score is, in a few words: "accuracy (3-fold CV)", "val R²".

    Args:
        estimator: The estimator being fitted.
        fit_data: The `FitData` of the fit.
    """
    metric = metric_name(estimator, fit_data.targets.task)
    if fit_data.folds is not None:
        return f"{metric} ({len(fit_data.folds)}-fold CV)"
    return f"val {metric}"


def make_tuner(estimator, fit_data, hypermodel, scorer, spec, seed, directory, role):
    """The `ScoringTuner` of `estimator`'s search, its oracle made from the parameters.

    Args:
        estimator: The estimator being fitted (`epochs_` set).
        fit_data: The `FitData` of the fit.
        hypermodel: The `keras_tuner.HyperModel` searched.
        scorer: The checked scikit-learn scorer of `scoring`.
        spec: The estimator's `objectives.ObjectiveSpec`.
        seed: Int seeding the oracle and the trials' training.
        directory: The KerasTuner directory of the search.
        role: This process's role in a distributed search (`roles.role()`), or None.
    """
    screening = _params.screening(estimator, estimator.epochs_)
    # For a strategy that budgets epochs (Hyperband): at least two, for a bracket.
    max_epochs = max(estimator.epochs_, 2)
    params = dict(estimator.strategy_params or {})
    if estimator.search_space is None:
        starting_points = spaces.starting_points(fit_data.input_spec.kind)
        if starting_points:
            # The default space's sound first networks, unless the user gave their own.
            params.setdefault("initial_hps", starting_points)
    oracle = make_oracle(
        estimator.strategy,
        screening,
        **params,
        max_trials=estimator.max_trials,
        max_epochs=max_epochs,
        seed=seed,
        **spec.oracle_arguments(),
    )
    part, folds = fit_data.validation, fit_data.folds
    other_scorers = spec.score_functions(estimator)

    def score_model(network, fold=None):
        rows = slice(None) if fold is None else folds[fold][1]
        X, y = part.X[rows], part.y[rows]
        weights = None if part.sample_weight is None else part.sample_weight[rows]
        holding = view(estimator, best_model_=hypermodels.end_to_end(hypermodel, network))
        main = float(score(scorer, holding, X, y, weights))
        if not other_scorers:
            return main
        scores = {OBJECTIVE: main}
        for name, other in other_scorers.items():
            scores[name] = float(score(other, holding, X, y, weights))
        return scores

    resume.carry_tuner_file(directory, roles.tuner_id())
    # KerasTuner prints "Reloading Tuner from ..." when it resumes a project.
    with contextlib.redirect_stdout(io.StringIO()):
        return ScoringTuner(
            oracle,
            hypermodel,
            score_model,
            seed=seed,
            max_model_size=estimator.max_model_size,
            # In a distributed search the chief loads the best network from its trial
            # directory; a single process keeps it in memory instead. So does a search
            # whose chosen network is picked among a front.
            keep_models=role is not None or (spec.ranked and not estimator.refit),
            full_epochs=screening.max_epochs if screening is not None else max_epochs,
            folds=folds,
            # The oracle's objective is the score only when it is the one objective.
            score_name=score_name(estimator, fit_data) if spec.metrics == (OBJECTIVE,) else None,
            # A chief whose workers a backend starts with each fit (`_backend`) has no
            # worker left from an interrupted fit: another runs the trial again.
            requeue_running=role is None or estimator.backend is not None,
            directory=directory,
            project_name=resume.PROJECT_NAME,
            # Every process of a distributed search opens the same project: none may wipe
            # it, and a restarted chief resumes from it. A single process resumes a kept
            # search unless told to start over (`resume.KeptSearch` checked that it is the
            # same search).
            overwrite=(
                (estimator.overwrite or estimator.directory is None) if role is None else False
            ),
        )


def run(tuner, training, verbose, budget):
    """Runs the search of `tuner`, its trials trained as `training` says.

    Args:
        tuner: The `ScoringTuner`.
        training: The search's `TrialTraining`.
        verbose: The estimator's `verbose`.
        budget: The fit's `nasplug.budget.TimeBudget` (its `reserve` kept for the refit),
            or None.
    """
    # KerasTuner prints the traceback of every failed trial (oversized models, diverged
    # training) to stderr; at verbose=0 the failures are only recorded in `search_results_`.
    quiet = contextlib.redirect_stderr(io.StringIO()) if not verbose else contextlib.nullcontext()
    extra = []
    if budget is not None:
        budget.attach(tuner)
        extra.append(budget.callback())
    args, kwargs = training.arguments(extra)
    # The display only shows the budget's remainder; the budget is the search's.
    display = progress.attach(
        tuner, verbose=verbose, time_budget=budget, score_name=tuner.score_name
    )
    with quiet, display:
        if verbose:
            kwargs["callbacks"].append(display.epoch_callback())
        tuner.search(*args, verbose=verbose, **kwargs)
