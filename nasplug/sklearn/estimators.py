"""Neural architecture search behind scikit-learn's `fit` / `predict`.

`NASClassifier().fit(X, y)` searches network architectures with a KerasTuner oracle
(any strategy of `nasplug.oracles.STRATEGIES`), scores every trial with a scikit-learn
scorer on validation data, and keeps the best network as `best_model_`. Both
estimators work wherever a scikit-learn estimator does: `Pipeline`, `GridSearchCV`,
`cross_val_score`, `clone`, pickle and joblib.

The search space is chosen from the data unless given (`nasplug.sklearn.spaces`):
`DenseBlock` for tables (2-D X), 1-D cells and layer chains for signals (X of shape
(n, steps, channels)), `ConvBlock` beside 2-D cells and chains for images (n, height,
width, channels), AutoKeras's embedding and text blocks for a 1-D array of strings
(`DenseBlock` and `ConvBlock`: AutoKeras's networks, declaring only live widths);
`input_kind` says which when the shape alone does not. A table may hold categorical,
boolean and numeric columns with missing values: they are encoded inside the model (see
`tabular`).
"""

import collections
import contextlib
import io
import math
import numbers
import os
import shutil
import tempfile
import time
import warnings

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import check_scoring
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y, validate_data

from nasplug import _training, oracles, progress
from nasplug.budget import TimeBudget
from nasplug.distributed import roles
from nasplug.screening import Screening
from nasplug.screening import make_oracle as make_screened_oracle
from nasplug.sklearn import data, prediction, results, resume, spaces, tabular
from nasplug.sklearn import hypermodels as search_spaces
from nasplug.sklearn.objectives import ObjectiveSpec
from nasplug.sklearn.tuner import (
    MIN_EPOCHS,
    OBJECTIVE,
    ScoringTuner,
    epochs_for,
    warmup_epochs,
)

# What `fit` learns from the search; a distributed worker's `fit` ends without them.
_SEARCH_ATTRIBUTES = (
    "best_model_",
    "best_params_",
    "best_score_",
    "best_trial_id_",
    "pareto_front_",
    "search_results_",
    "search_seconds_",
    "ensemble_size_",
    "ensemble_",
)

# With `screening="auto"`, screen when trials train this many epochs or more: three rungs
# a factor 3 apart, the first of at least one epoch.
AUTO_SCREENING_EPOCHS = 9
# With `cv="auto"`, trials are cross-validated over this many folds when one held-out
# part would have fewer than `AUTO_CV_BELOW` samples. On so few samples a trial's score is
# noise that the search then chases: on ArrowHead (36 training series) the search kept a
# network that scored best on its 8 held-out series and 0.33 on the test set, where the
# flattened MLP it had also tried scored 0.84.
AUTO_CV_FOLDS = 3
AUTO_CV_BELOW = 100
# The default early stopping's best epoch is read off this many validation samples or more
# before the refit repeats it; on fewer it is noise biased early, and the refit trains
# every epoch of `epochs_`. The validation loss of a few series bottoms out as soon as a
# network grows confident, while its accuracy keeps rising: on ArrowHead (12 series a
# fold) the folds' best epochs were 127-457 of 500 and the refit for their mean scored
# 0.709 on the test set, for all 500 0.810 (3 seeds; `benchmarks/refit_recipes.py`).
BEST_EPOCH_SAMPLES = 100
# With `ensemble_size="auto"`, the refit of a cross-validated search (data so small that
# one held-out part would score trials on fewer than `AUTO_CV_BELOW` samples) averages
# this many networks of the best architecture, retrained from different seeds. On so few
# samples one network's test accuracy depends on its seed by several points: on ArrowHead
# (36 series) the fully convolutional network's single refits scored 0.794 on average and
# the mean of five 0.822 (+0.028 ± 0.005 over 5 seeds), JapaneseVowels' MLP +0.008 ±
# 0.001, and no set lost (`benchmarks/refit_ensemble.py`). Five refits cost about 1.7
# cross-validated trials of 3 folds.
AUTO_ENSEMBLE_SIZE = 5
# With `ensemble_size="auto"`, the share of those networks that take the architecture of
# another family when cross-validation cannot tell the two families apart (see
# `_ensemble_trials`). On ArrowHead the search's fully convolutional network and MLP
# always scored within the best's spread over the folds, and three of the best with two
# of the other scored 0.840 on the test set against 0.794 for five of the best (6 seeds;
# `benchmarks/family_ensemble.py`); sets whose families the folds did tell apart refit
# as before.
FAMILY_SHARE = 0.4
# Oracle arguments the estimator sets from its own parameters (`scoring`, `max_trials`,
# `epochs`, `random_state`), which `strategy_params` may not override.
_SET_BY_ESTIMATOR = (
    "objective",
    "max_trials",
    "max_epochs",
    "seed",
    "pareto",
    "max_params",
    "max_latency_ms",
    "constraints",
)


class _NASEstimator(BaseEstimator):
    """What `NASClassifier` and `NASRegressor` share; see their docstrings."""

    _task = None

    def __init__(
        self,
        strategy="predictor",
        max_trials=10,
        epochs=None,
        search_space=None,
        input_kind="auto",
        scoring=None,
        validation_split=0.2,
        validation_data=None,
        batch_size=32,
        learning_rate=None,
        callbacks=None,
        max_model_size=None,
        refit=True,
        directory=None,
        overwrite=False,
        random_state=None,
        verbose=0,
        time_budget=None,
        strategy_params=None,
        screening=False,
        categorical_features="auto",
        objectives=None,
        max_params=None,
        max_latency_ms=None,
        constraints=None,
        cv="auto",
        ensemble_size="auto",
    ):
        self.strategy = strategy
        self.max_trials = max_trials
        self.epochs = epochs
        self.search_space = search_space
        self.input_kind = input_kind
        self.scoring = scoring
        self.validation_split = validation_split
        self.validation_data = validation_data
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.callbacks = callbacks
        self.max_model_size = max_model_size
        self.refit = refit
        self.directory = directory
        self.overwrite = overwrite
        self.random_state = random_state
        self.verbose = verbose
        self.time_budget = time_budget
        self.strategy_params = strategy_params
        self.screening = screening
        self.categorical_features = categorical_features
        self.objectives = objectives
        self.max_params = max_params
        self.max_latency_ms = max_latency_ms
        self.constraints = constraints
        self.cv = cv
        self.ensemble_size = ensemble_size

    # ------------------------------------------------------------------ fit

    def fit(self, X, y, sample_weight=None):
        """Searches an architecture for (X, y) and trains the best one.

        Args:
            X: Training inputs: a 2-D array or DataFrame (a table: numeric, boolean and
                categorical columns, missing values as NaN / None), signals of shape
                (n, steps, channels), images of shape (n, height, width, channels), or
                a 1-D array of strings (text); see `input_kind`.
            y: Targets: class labels of any type (classifier), or a 1-D or 2-D array
                of numbers (regressor).
            sample_weight: Optional non-negative weight of each sample: it weighs the
                sample's loss in training and its part of the validation score.

        Returns:
            self.
        """
        self._check_params()
        spec = ObjectiveSpec(self)
        if spec.ranked and self._screening() is not None:
            raise ValueError(
                "screening does not combine with objectives or constraints yet: scores "
                "after different numbers of epochs cannot be ranked on one front. Use "
                "screening=False with them."
            )
        role = roles.role()
        X, y = self._validate_fit_data(X, y)
        categorical = self._categorical_
        self.is_categorical_ = np.asarray(categorical) if categorical and any(categorical) else None
        y_model = self._learn_targets(y)
        # A search kept in `directory` is resumed, unless it is another search (checked
        # below, before any training) or `overwrite`. A distributed search's processes
        # share their project by KerasTuner's own rules (see `_make_tuner`).
        kept = None
        if self.directory is not None and role is None:
            kept = resume.KeptSearch(self.directory, self.overwrite)
        weights = self._check_sample_weight(sample_weight, y_model)
        base_seed = kept.seed(self.random_state) if kept else data.seed_of(self.random_state)
        rng = np.random.default_rng(base_seed)
        split_seed, seed = (int(s) for s in rng.integers(2**31 - 1, size=2))
        folds = self._folds(y_model, split_seed)
        if folds is None:
            train, val = self._split(X, y, y_model, weights, split_seed)
            n_train = len(train[2])
        else:
            # Every sample trains some folds' networks and scores another's.
            train = val = (X, y, y_model, weights)
            n_train = len(folds[0][0])
        self.epochs_ = self.epochs or epochs_for(n_train, self.batch_size)
        if val[3] is not None and not val[3].any():
            raise ValueError(
                "sample_weight is zero on every validation sample, so no trial can be "
                "scored: give some of them a weight, or pass validation_data."
            )
        # A scorer that cannot score this task fails now, not after the whole search.
        scorer = self._checked_scorer(val)

        X_all = np.concatenate([train[0], val[0]]) if self.validation_data is not None else X
        self._input_spec_ = search_spaces.InputSpec.from_data(
            self._kind_, X_all, names=self._column_names(), categorical=self._categorical_
        )
        target_mean, target_scale = self._target_scaling()
        hypermodel = search_spaces.make_hypermodel(
            self.search_space,
            self._input_spec_,
            self._task,
            self._n_outputs(),
            target_mean=target_mean,
            target_scale=target_scale,
            learning_rate=self.learning_rate,
        )
        self._check_hypermodel_takes_data(hypermodel)
        if kept is not None:
            definition = self._search_definition(X, y, val, weights)
            if kept.resuming:
                kept.check(definition, hypermodel, base_seed)
        y_train = search_spaces.standardize_targets(hypermodel, train[2])
        y_val = search_spaces.standardize_targets(hypermodel, val[2])
        validation = None
        if folds is None:
            validation = (self._to_network_input(val[0]), y_val)
            if val[3] is not None:
                validation += (val[3],)
        directory = self.directory or tempfile.mkdtemp(prefix="nasplug-")
        search_start = time.perf_counter()
        tuner = None
        try:
            tuner = self._make_tuner(hypermodel, scorer, val, seed, directory, role, spec, folds)
            if kept is not None and not kept.resuming:
                kept.begin(definition, tuner.oracle.hyperparameters, base_seed)
            # KerasTuner prints the traceback of every failed trial (oversized models,
            # diverged training) to stderr; at verbose=0 the failures are only recorded
            # in `search_results_`.
            quiet = (
                contextlib.redirect_stderr(io.StringIO())
                if not self.verbose
                else contextlib.nullcontext()
            )
            callbacks = self._trial_callbacks(n_train)
            budget = None
            if self.time_budget is not None:
                budget = TimeBudget(self.time_budget).attach(tuner)
                callbacks.append(budget.callback())
            fit_args = (self._to_network_input(train[0]), y_train)
            fit_kwargs = dict(
                sample_weight=train[3],
                validation_data=validation,
                epochs=self.epochs_,
                batch_size=self.batch_size,
                callbacks=callbacks,
                fit_verbose=2 if self.verbose >= 2 else 0,
            )
            # The display only shows the budget's remainder; the budget is the search's.
            with quiet, progress.attach(tuner, verbose=self.verbose, time_budget=budget) as display:
                if self.verbose:
                    callbacks.append(display.epoch_callback())
                tuner.search(*fit_args, verbose=self.verbose, **fit_kwargs)
            search_seconds = time.perf_counter() - search_start
            if role == roles.WORKER:
                # The search goes on in other workers after this one is told to stop, so
                # only the chief can know its result.
                for name in _SEARCH_ATTRIBUTES:
                    self.__dict__.pop(name, None)
                return self
            found = results.SearchResults(tuner.oracle, spec, trial_dir=tuner.get_trial_dir)
            found.choose(self.refit)
            best_trial = tuner.oracle.get_trial(found.best_trial_id)
            self.ensemble_size_ = self._ensemble_members(folds, spec)
            members = self._ensemble_trials(found, best_trial)
            if self.refit:
                X_refit, y_refit, w_refit = train[0], y_train, train[3]
                if folds is None:
                    X_refit = np.concatenate([train[0], val[0]])
                    y_refit = np.concatenate([y_train, y_val])
                    w_refit = None if weights is None else np.concatenate([train[3], val[3]])
                # The fewest validation samples any of the trial's best epochs was read off.
                n_validation = min(len(rows) for _, rows in folds) if folds else len(val[2])
                network = self._refit(
                    hypermodel, members, X_refit, y_refit, w_refit, seed, n_validation
                )
            elif role == roles.CHIEF or (
                spec.ranked and best_trial.trial_id != tuner.best_trial_id
            ):
                # A worker trained it and saved it in the trial's directory; or it is the
                # front member chosen, not the network of the highest score kept in memory
                # (every trial of such a search saves its own).
                network = tuner.load_model(best_trial)
            else:
                # Trained in this process, or by an earlier one whose search this resumed.
                # (Without the budget's callback: a spent budget must not cut it short.)
                network = tuner.trained_model(
                    best_trial,
                    *fit_args,
                    **dict(fit_kwargs, callbacks=self._trial_callbacks(n_train)),
                )
        except KeyboardInterrupt as interrupt:
            raise resume.interrupted(interrupt, tuner, self.directory) from None
        finally:
            if self.directory is None:
                shutil.rmtree(directory, ignore_errors=True)

        self.search_results_ = found.trials
        if found.pareto_front is not None:
            self.pareto_front_ = found.pareto_front
        else:
            self.__dict__.pop("pareto_front_", None)
        self.best_trial_id_ = found.best_trial_id
        self.ensemble_ = _ensemble_summary(members, found)
        self.best_score_ = found.best_score
        self.best_params_ = found.best_params
        self.best_model_ = search_spaces.end_to_end(hypermodel, network)
        self.search_seconds_ = float(search_seconds)
        return self

    def _search_definition(self, X, y, val, weights):
        """What defines this search, for `resume.KeptSearch` to recognise it by."""
        definition = {
            "estimator": type(self).__name__,
            "strategy": self.strategy,
            "X shape": list(X.shape),
            "X": resume.fingerprint(X),
            "y": resume.fingerprint(y),
            "sample_weight": None if weights is None else resume.fingerprint(weights),
            "validation data": (
                resume.fingerprint(val[0], val[1]) if self.validation_data is not None else None
            ),
        }
        if self._task == "classification":
            definition["classes"] = resume.describe(list(self.classes_))
        else:
            definition["targets"] = self.n_targets_
        for name in (
            "epochs",
            "batch_size",
            "scoring",
            "learning_rate",
            "max_model_size",
            "strategy_params",
            "screening",
            "categorical_features",
            "input_kind",
            "cv",
        ):
            definition[name] = resume.describe(getattr(self, name))
        if self.validation_data is None:
            definition["validation_split"] = resume.describe(self.validation_split)
        return definition

    def _check_params(self):
        record = oracles.registry.get(self.strategy)  # raises on an unknown strategy
        params = self.strategy_params if self.strategy_params is not None else {}
        if not isinstance(params, dict):
            raise ValueError(
                "strategy_params must be a dict of the strategy's own arguments or None; got "
                f"{type(params).__name__}."
            )
        record.check_arguments(params, reserved=_SET_BY_ESTIMATOR, where="strategy_params")
        try:
            # The oracle checks its own arguments' values; building it costs no training.
            # (A seed, as KerasTuner draws one from Python's global generator otherwise.)
            record.make(**params, seed=1)
        except (TypeError, ValueError) as error:
            raise ValueError(f"strategy_params of strategy {self.strategy!r}: {error}") from None
        self._screening()
        for name in ("max_trials", "epochs", "batch_size"):
            value = getattr(self, name)
            if name == "epochs" and value is None:
                continue
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}.")
        if self.validation_data is None and not (
            isinstance(self.validation_split, numbers.Real) and 0 < self.validation_split < 1
        ):
            raise ValueError(
                "validation_split must be a number strictly between 0 and 1; got "
                f"{self.validation_split!r}."
            )
        if not (
            (isinstance(self.cv, str) and self.cv == "auto")
            or self.cv is None
            or (
                isinstance(self.cv, numbers.Integral)
                and not isinstance(self.cv, bool)
                and self.cv >= 2
            )
        ):
            raise ValueError(
                'cv must be "auto", None (one held-out part) or a number of folds of at '
                f"least 2; got {self.cv!r}."
            )
        reason = self._why_not_cross_validate() if self.cv not in ("auto", None) else ""
        if reason:
            raise ValueError(
                f"cv={self.cv!r} cross-validates every trial, but {reason}. Use cv=None "
                '(or "auto") with it.'
            )
        if self.max_model_size is not None and not (
            isinstance(self.max_model_size, numbers.Integral) and self.max_model_size > 0
        ):
            raise ValueError(
                f"max_model_size must be a positive integer or None; got {self.max_model_size!r}."
            )
        if self.learning_rate is not None and not (
            isinstance(self.learning_rate, numbers.Real) and self.learning_rate > 0
        ):
            raise ValueError(
                f"learning_rate must be a positive number or None; got {self.learning_rate!r}."
            )
        if self.time_budget is not None and (
            isinstance(self.time_budget, bool)
            or not isinstance(self.time_budget, numbers.Real)
            or not self.time_budget > 0
        ):
            raise ValueError(
                "time_budget must be a positive number of seconds or None; got "
                f"{self.time_budget!r}."
            )
        if not isinstance(self.overwrite, (bool, np.bool_)):
            raise ValueError(f"overwrite must be True or False; got {self.overwrite!r}.")
        if roles.role() is not None and self.overwrite:
            raise ValueError(
                f"This process is {roles.tuner_id()!r} of a distributed search, where "
                "overwrite=True would let every process wipe the project the others share. "
                "Clear the directory before starting the search instead."
            )
        if isinstance(self.verbose, bool) or not (
            isinstance(self.verbose, numbers.Integral) and self.verbose >= 0
        ):
            raise ValueError(
                "verbose must be 0 (silent), 1 (one progress line) or 2 (also Keras's "
                f"per-epoch logs); got {self.verbose!r}."
            )
        multi_objective = self.objectives is not None or any(
            getattr(self, name) is not None
            for name in ("max_params", "max_latency_ms", "constraints")
        )
        # With objectives or constraints, `ObjectiveSpec` also takes an objective's name
        # or a callable.
        if not multi_objective and not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(
                "refit must be True (retrain the best architecture on all the data) or "
                f"False; got {self.refit!r}."
            )
        if not (isinstance(self.ensemble_size, str) and self.ensemble_size == "auto") and (
            isinstance(self.ensemble_size, bool)
            or not (isinstance(self.ensemble_size, numbers.Integral) and self.ensemble_size >= 1)
        ):
            raise ValueError(
                'ensemble_size must be "auto" or a positive integer (1: one network); got '
                f"{self.ensemble_size!r}."
            )
        if (
            self.ensemble_size != "auto"
            and self.ensemble_size > 1
            and (multi_objective or not self.refit)
        ):
            raise ValueError(
                f"ensemble_size={self.ensemble_size} averages networks retrained on all the "
                "data, "
                + (
                    "but with objectives or constraints the front's costs (size, latency) "
                    "are those of one network. Use ensemble_size=1 with them."
                    if multi_objective
                    else "which refit=False does not do. Use refit=True with it."
                )
            )
        if self.directory is not None:
            _check_directory(self.directory)
        if roles.role() is not None and self.directory is None:
            raise ValueError(
                f"This process is {roles.tuner_id()!r} of a distributed search "
                f"({roles.ENV_ORACLE_IP} is set), which needs `directory`: one directory that "
                "every "
                "process of the search reads and writes (workers save there the networks "
                "they train, for the chief)."
            )

    def _validate_fit_data(self, X, y):
        if data.is_text(X):
            self._kind_ = spaces.resolve_kind(self.input_kind, True, 1)
            if not tabular.is_auto_or_none(self.categorical_features):
                raise ValueError(
                    "categorical_features applies to tables (2-D X); X is a 1-D array of "
                    "strings (text)."
                )
            X, y = validate_data(
                self, X, y, ensure_2d=False, dtype=None, ensure_min_samples=2, **self._y_params()
            )
            if X.ndim != 1:
                raise ValueError(f"Text input must be a 1-D array of strings; got shape {X.shape}.")
            X = X.astype(str)
            self._categorical_ = None
        elif tabular.is_table(X, self.categorical_features):
            self._kind_ = search_spaces.TABULAR
            X, y = self._validate_table(X, y, reset=True)
        else:
            # Missing values are NaN in a numeric table, encoded inside the model; images
            # have none (checked below).
            X, y = validate_data(
                self,
                X,
                y,
                allow_nd=True,
                dtype=(np.float64, np.float32),
                ensure_all_finite="allow-nan",
                ensure_min_samples=2,
                **self._y_params(),
            )
            if X.ndim > 4:
                raise ValueError(
                    "X must be 2-D (samples, features), 3-D (samples, steps, channels) or "
                    f"4-D (samples, height, width, channels); got {X.ndim} dimensions."
                )
            self._kind_ = spaces.resolve_kind(self.input_kind, False, X.ndim)
            X = self._numeric_rows(X, "X")
            self._categorical_ = [False] * X.shape[1] if self._kind_ == spaces.TABULAR else None
        self._sample_shape_ = X.shape[1:]
        return X, y

    def _validate_table(self, X, y, reset, what="X"):
        """Checks a table that goes the `tabular` way; returns (rows, y) or the rows."""
        table = X if hasattr(X, "iloc") else np.asarray(X, dtype=object)
        if table.ndim != 2:
            raise ValueError(
                f"{what} must be a table (2-D: samples, columns) or a 1-D array of strings "
                f"(text); got an array of {table.ndim} dimension(s)."
            )
        # Column names and their number; the values are checked column by column below.
        validate_data(self, X, reset=reset, skip_check_array=True)
        if reset:
            self._categorical_ = tabular.categorical_mask(
                table, self.categorical_features, self._column_names()
            )
        rows = tabular.table_rows(table, self._categorical_, self._column_names(), what)
        if y is None:
            return check_array(
                rows, dtype=None, ensure_all_finite=False, input_name=what, estimator=self
            )
        return check_X_y(
            rows,
            y,
            dtype=None,
            ensure_all_finite=False,
            ensure_min_samples=2,
            estimator=self,
            **self._y_params(),
        )

    def _numeric_rows(self, X, what):
        """Float32 rows of a numeric table, of signals or of images, checked."""
        if self._kind_ == search_spaces.TABULAR:
            tabular.check_float32(X, self._column_names(), what)
        elif np.isnan(X).any():
            raise ValueError(
                f"Input {what} contains NaN: {self._kind_} input may have no missing values."
            )
        return spaces.network_input(X.astype(np.float32, copy=False), self._kind_)

    def _column_names(self):
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(name) for name in names]

    def _check_sample_weight(self, sample_weight, y_model):
        """The weights as a float array with mean 1, or None; errors say what is wrong.

        Keras sums weighted losses over a batch: weights of mean 1 keep the loss, and so
        the meaning of the learning rate, in the units of an unweighted fit.
        """
        if sample_weight is None:
            return None
        try:
            weights = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("sample_weight must be an array of numbers.") from None
        if weights.shape != (len(y_model),):
            raise ValueError(
                f"sample_weight must be 1-D with one weight per sample ({len(y_model)}); got "
                f"shape {weights.shape}."
            )
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise ValueError("sample_weight must be finite and non-negative.")
        if not weights.any():
            raise ValueError("sample_weight is zero for every sample: nothing to learn from.")
        self._check_weighted_targets(y_model, weights)
        return weights / weights.mean()

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_model_")

    def _validate_predict_data(self, X):
        check_is_fitted(
            self,
            msg=(
                "This %(name)s ran as a worker of a distributed search: workers only train "
                "trials. Use the chief's estimator, which holds the search's result."
                if roles.role() == roles.WORKER
                else None
            ),
        )
        X = self._check_like_training(X, "X")
        if self._kind_ == search_spaces.TABULAR:
            self._input_spec_.table.warn_unseen(X)
        return X

    def _check_like_training(self, X, what):
        """Checks and converts inputs shaped like the training X (`what` names them)."""
        if self._kind_ == search_spaces.TEXT:
            if not data.is_text(X):
                raise ValueError(
                    f"{type(self).__name__} was fitted on text; {what} must be a 1-D array "
                    "of strings."
                )
            return validate_data(self, X, ensure_2d=False, dtype=None, reset=False).astype(str)
        if self._kind_ == search_spaces.TABULAR and (
            any(self._categorical_) or tabular.is_table(X, self.categorical_features)
        ):
            return self._validate_table(X, None, reset=False, what=what)
        X = validate_data(
            self,
            X,
            allow_nd=True,
            dtype=(np.float64, np.float32),
            ensure_all_finite="allow-nan",
            reset=False,
        )
        X = self._numeric_rows(X, what)
        if X.shape[1:] != self._sample_shape_:
            raise ValueError(
                f"{what} has samples of shape {X.shape[1:]}, but {type(self).__name__} was "
                f"fitted on samples of shape {self._sample_shape_}."
            )
        return X

    def _folds(self, y_model, seed):
        """The folds that score each trial (see `cv`), or None for one held-out part."""
        n_samples = len(y_model)
        labels = y_model if self._task == "classification" else None
        if isinstance(self.cv, str):  # "auto"
            if self._why_not_cross_validate() or (
                math.ceil(self.validation_split * n_samples) >= AUTO_CV_BELOW
            ):
                return None
            n_folds = min(AUTO_CV_FOLDS, n_samples)
            return data.folds(n_samples, n_folds, seed, labels) if n_folds >= 2 else None
        if self.cv is None:
            return None
        try:
            return data.folds(n_samples, int(self.cv), seed, labels)
        except ValueError as error:
            raise ValueError(f"cv={self.cv!r}: {error} Lower cv.") from None

    def _why_not_cross_validate(self):
        """Why trials cannot be cross-validated in this search, or "" when they can."""
        if self.validation_data is not None:
            return "validation_data scores the trials"
        if isinstance(self.refit, (bool, np.bool_)) and not self.refit:
            return (
                "refit=False keeps a network the search trained, and a cross-validated "
                "trial trains one per fold on part of the data"
            )
        if oracles.registry.get(self.strategy).budget != "max_trials":
            return f"strategy {self.strategy!r} schedules the epochs of its trials itself"
        if self._screening() is not None:
            return "screening continues one network per candidate"
        return ""

    def _split(self, X, y, y_model, weights, seed):
        """Returns (X, y, y_model, sample_weight) for training and for validation."""
        if self.validation_data is not None:
            if not isinstance(self.validation_data, (tuple, list)) or len(
                self.validation_data
            ) not in (2, 3):
                raise ValueError(
                    "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                    "sample_weight_val)."
                )
            X_val, y_val = self.validation_data[:2]
            X_val = self._check_like_training(X_val, "validation_data's X")
            y_val = self._check_validation_targets(y_val)
            w_val = None
            if len(self.validation_data) == 3:
                w_val = np.asarray(self.validation_data[2], dtype=np.float64)
                if w_val.shape != (len(y_val),) or (w_val < 0).any():
                    raise ValueError(
                        "validation_data's sample weights must be 1-D, non-negative, one "
                        "per validation sample."
                    )
            return (X, y, y_model, weights), (X_val, y_val, self._encode_targets(y_val), w_val)
        labels = y_model if self._task == "classification" else None
        try:
            train_idx, val_idx = data.holdout(len(y), self.validation_split, seed, labels)
        except ValueError as error:
            raise ValueError(f"{error} Lower validation_split.") from None
        return tuple(
            (
                X[idx],
                y[idx],
                y_model[idx],
                None if weights is None else weights[idx],
            )
            for idx in (train_idx, val_idx)
        )

    def _to_model_input(self, X):
        """What `best_model_` takes for checked rows X."""
        if self._kind_ == search_spaces.TEXT:
            return self._input_spec_.vectorize(X)
        if self._kind_ == search_spaces.TABULAR:
            return self._input_spec_.table.raw_input(X)
        return X

    def _to_network_input(self, X):
        """What the search's networks train on for checked rows X."""
        if self._kind_ == search_spaces.TABULAR:
            return self._input_spec_.table.network_input(X)
        return self._to_model_input(X)

    def _check_hypermodel_takes_data(self, hypermodel):
        """A user's hypermodel gets the numeric X as it is: no categories, no gaps."""
        table = self._input_spec_.table
        if isinstance(hypermodel, search_spaces.BlockHyperModel) or table is None:
            return
        names = table.names
        if table.mixed:
            columns = [names[j] for j, c in enumerate(table.categorical) if c]
            what = f"categorical column(s) {', '.join(map(repr, columns[:5]))}"
        elif any(table.numeric_missing):
            columns = [names[j] for j, m in enumerate(table.numeric_missing) if m]
            what = f"missing values in column(s) {', '.join(map(repr, columns[:5]))}"
        else:
            return
        raise ValueError(
            f"X has {what}, but search_space is a model of your own, which takes X as "
            "numbers without gaps. Encode and impute X first (e.g. a ColumnTransformer in a "
            "Pipeline), or search AutoKeras blocks (search_space=None or a block), whose "
            "networks encode categories and fill missing values themselves."
        )

    def _view(self, **attributes):
        """A shallow copy of this estimator, for scikit-learn scorers to call.

        A scorer calls `predict` / `predict_proba` of an estimator; the copy, holding a
        trial's network, lends it those methods (made by hand: `copy.copy` would go
        through pickling's `__getstate__`).
        """
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__, **attributes)
        # The validation rows are already checked; column names were checked with them.
        view.__dict__.pop("feature_names_in_", None)
        return view

    def _checked_scorer(self, val):
        """The scorer of `scoring`, tried once on the validation rows before the search.

        A constant prediction (the class frequencies, the targets' mean) stands in for a
        network: a scorer that cannot score the task at all (`roc_auc` for three classes,
        a classification metric for a regression) fails on it as on any network.
        """
        scorer = check_scoring(self, scoring=self.scoring)
        constant = self._constant_output()
        view = self._view()
        # Stands in for the network's output, whatever the rows.
        view._model_output = lambda X: np.tile(constant, (len(X), 1))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _score(scorer, view, val[0], val[1], val[3])
        except Exception as error:  # a scorer raises whatever its metric raises
            message = str(error).strip().splitlines()
            raise ValueError(
                f"scoring={self.scoring!r} cannot score {self._task_description()}: "
                f"{message[0] if message else type(error).__name__}"
            ) from None
        return scorer

    def _trial_callbacks(self, n_samples):
        if self.callbacks is not None:
            return list(self.callbacks)
        patience = max(3, self.epochs_ // 5)
        return [
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=patience,
                restore_best_weights=True,
                start_from_epoch=warmup_epochs(n_samples, self.batch_size, self.epochs_),
            )
        ]

    def _screening(self, epochs=None):
        """The `Screening` of this search, or None (see the `screening` parameter).

        Args:
            epochs: The trials' maximum epochs; None (when checking the parameters,
                before the data sets them) reads `epochs`, or its least default.
        """
        epochs = epochs or self.epochs or MIN_EPOCHS
        budgeted_in_trials = oracles.registry.get(self.strategy).budget == "max_trials"
        if isinstance(self.screening, str) and self.screening == "auto":
            on = budgeted_in_trials and epochs >= AUTO_SCREENING_EPOCHS
            return Screening(max_epochs=epochs) if on else None
        try:
            screening = Screening.of(self.screening)
        except ValueError:
            raise ValueError(
                'screening must be "auto", True, False, None or a nasplug.Screening; got '
                f"{self.screening!r}."
            ) from None
        if screening is not None and not budgeted_in_trials:
            raise ValueError(
                f"strategy {self.strategy!r} schedules the epochs of its trials itself; "
                'use screening=False (or "auto") with it.'
            )
        return None if screening is None else screening.with_max_epochs(epochs)

    def _make_tuner(self, hypermodel, scorer, val, seed, directory, role, spec, folds=None):
        arguments = spec.oracle_arguments()
        screening = self._screening(self.epochs_)
        # For a strategy that budgets epochs (Hyperband): at least two, for a bracket.
        max_epochs = max(self.epochs_, 2)
        params = dict(self.strategy_params or {})
        starting_points = spaces.starting_points(self._kind_) if self.search_space is None else []
        if starting_points:
            # The default space's sound first networks, unless the user gave their own.
            params.setdefault("initial_hps", starting_points)
        oracle = make_screened_oracle(
            self.strategy,
            screening,
            **params,
            max_trials=self.max_trials,
            max_epochs=max_epochs,
            seed=seed,
            **arguments,
        )
        X_val_raw, y_val_raw, w_val = val[0], val[1], val[3]
        other_scorers = spec.score_functions(self)

        def score_model(network, fold=None):
            rows = slice(None) if fold is None else folds[fold][1]
            X_rows, y_rows = X_val_raw[rows], y_val_raw[rows]
            w_rows = None if w_val is None else w_val[rows]
            view = self._view(best_model_=search_spaces.end_to_end(hypermodel, network))
            score = float(_score(scorer, view, X_rows, y_rows, w_rows))
            if not other_scorers:
                return score
            scores = {OBJECTIVE: score}
            for name, other in other_scorers.items():
                scores[name] = float(_score(other, view, X_rows, y_rows, w_rows))
            return scores

        # KerasTuner prints "Reloading Tuner from ..." when it resumes a project.
        with contextlib.redirect_stdout(io.StringIO()):
            return ScoringTuner(
                oracle,
                hypermodel,
                score_model,
                seed=seed,
                max_model_size=self.max_model_size,
                # In a distributed search the chief loads the best network from its trial
                # directory; a single process keeps it in memory instead. So does a
                # search whose chosen network is picked among a front.
                keep_models=role is not None or (spec.ranked and not self.refit),
                full_epochs=screening.max_epochs if screening is not None else max_epochs,
                folds=folds,
                directory=directory,
                project_name=resume.PROJECT_NAME,
                # Every process of a distributed search opens the same project: none may
                # wipe it, and a restarted chief resumes from it. A single process resumes
                # a kept search unless told to start over (`resume.KeptSearch` checked
                # that it is the same search).
                overwrite=(self.overwrite or self.directory is None) if role is None else False,
            )

    def _refit(self, hypermodel, members, X, y_model, sample_weight, seed, n_validation):
        # Early stopping needs validation data, which refitting on all data has none of.
        callbacks = [
            c for c in (self.callbacks or []) if not isinstance(c, keras.callbacks.EarlyStopping)
        ]
        networks = []
        for member, trial in enumerate(members):
            trained = _training.train(
                _training.Training(
                    hypermodel,
                    trial.hyperparameters,
                    self._to_network_input(X),
                    y_model,
                    epochs=self._refit_epochs(trial, n_validation),
                    batch_size=self.batch_size,
                    seed=seed + member,
                    callbacks=tuple(callbacks),
                    verbose=2 if self.verbose >= 2 else 0,
                    sample_weight=sample_weight,
                )
            )
            networks.append(trained.model)
        return search_spaces.average_networks(networks)

    def _ensemble_trials(self, found, best_trial):
        """The trial whose architecture each of the refit's `ensemble_size_` networks has.

        All the best trial's, except with `ensemble_size="auto"` in a space that chooses
        among families of networks (`spaces.FAMILY`: signals, images, text) when the
        cross-validated scores cannot tell the best family from another: when the best
        trial of another family scores within the best trial's standard deviation over
        the folds, `FAMILY_SHARE` of the networks (2 of 5) take its architecture.
        """
        members = [best_trial] * self.ensemble_size_
        if self.ensemble_size != "auto" or self.ensemble_size_ < 2:
            return members
        best = found.record(found.best_trial_id)
        family = best["hyperparameters"].get(spaces.FAMILY)
        if family is None or best["score_std"] is None:
            return members
        others = [
            record
            for record in found.trials
            if record["status"] == "COMPLETED"
            and record["score"] is not None
            and record["hyperparameters"].get(spaces.FAMILY) not in (None, family)
        ]
        if not others:
            return members
        # The first of equal scores, in trial order.
        partner = max(others, key=lambda record: record["score"])
        if partner["score"] < best["score"] - best["score_std"]:
            return members
        shared = int(self.ensemble_size_ * FAMILY_SHARE)
        partner_trial = found.oracle.get_trial(partner["trial_id"])
        return members[: len(members) - shared] + [partner_trial] * shared

    def _ensemble_members(self, folds, spec):
        """How many networks the refit averages (see `ensemble_size`)."""
        if self.ensemble_size != "auto":
            return self.ensemble_size
        if folds is None or spec.ranked or not self.refit:
            return 1
        return AUTO_ENSEMBLE_SIZE

    def _refit_epochs(self, trial, n_validation):
        """Epochs the refit trains a trial's architecture for on all data.

        Args:
            trial: A `keras_tuner` trial (the chosen one, or another member's).
            n_validation: Int, the validation samples its useful epochs were read off (the
                smallest fold's, when cross-validated).

        Returns:
            The trial's useful epochs (its best epoch under early stopping); `epochs_`
            when the default early stopping read them off fewer than
            `BEST_EPOCH_SAMPLES` samples.
        """
        if self.callbacks is None and n_validation < BEST_EPOCH_SAMPLES:
            return self.epochs_
        return int(trial.metrics.get_last_value("epochs") or self.epochs_)

    # -------------------------------------------------------------- predict

    def _model_output(self, X):
        X = self._to_model_input(self._validate_predict_data(X))
        return prediction.model_output(self.best_model_, X)

    # -------------------------------------------------------------- pickle

    def __getstate__(self):
        # A copy: the base class hands back the live `__dict__`.
        state = dict(super().__getstate__())
        if isinstance(state.get("best_model_"), keras.Model):
            state["best_model_"] = results.model_to_bytes(state["best_model_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("best_model_"), bytes):
            state = dict(state, best_model_=results.model_from_bytes(state["best_model_"]))
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # Tables may hold text (categories) and missing values, encoded in the model.
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags


def _ensemble_summary(members, found):
    """`ensemble_`: one dict per architecture of the networks averaged, in member order."""
    counts = collections.Counter(trial.trial_id for trial in members)
    return [
        {
            "trial": record["trial"],
            "trial_id": trial_id,
            "networks": networks,
            "hyperparameters": record["hyperparameters"],
            "score": record["score"],
        }
        for trial_id, networks in counts.items()
        for record in [found.record(trial_id)]
    ]


def _score(scorer, estimator, X, y, sample_weight):
    if sample_weight is None:
        return scorer(estimator, X, y)
    return scorer(estimator, X, y, sample_weight=sample_weight)


def _check_directory(directory):
    """Raises when `directory` cannot hold a search: it, or a folder above it, is a file."""
    try:
        path = os.path.abspath(os.fspath(directory))
    except TypeError:
        raise ValueError(f"directory must be a path or None; got {directory!r}.") from None
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(
            f"directory={os.fspath(directory)!r} is a file, not a directory: give the path "
            "of a directory for the search (created if missing)."
        )
    parent = os.path.dirname(path)
    while parent and not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if parent and not os.path.isdir(parent):
        raise ValueError(
            f"directory={os.fspath(directory)!r} cannot be created: {parent!r} is a file."
        )


class NASClassifier(ClassifierMixin, _NASEstimator):
    """Classifier whose network architecture is found by neural architecture search.

    `fit` runs a KerasTuner search: each trial builds a network from the search space,
    trains it on the training part of the data and scores it on the validation part
    with `scoring`; the best network, retrained on all the data if `refit`, predicts.

    Args:
        strategy: Search strategy: "predictor" (the default: regularized evolution whose
            children a Gaussian process ranks, the strongest of nasplug's at 12 to 100
            trials on NAS-Bench-201), "evolution", "reinforce", "qlearning" (nasplug's),
            "random", "bayesian", "hyperband" (KerasTuner's) or "greedy" (AutoKeras's);
            or any name registered in `nasplug.oracles.registry`.
        max_trials: Number of architectures tried; with screening, a budget of that
            many full trials' epochs, which screens more architectures (Hyperband
            budgets epochs instead).
        epochs: Maximum training epochs per trial. None (the default) gives a trial at
            least 20 epochs and at least 500 optimizer steps: on a few dozen samples an
            epoch is one or two steps, and 20 of them are too few to train a network.
        search_space: None to choose one from the data (`nasplug.sklearn.spaces`:
            `nasplug.blocks.DenseBlock` for tables; a choice among 1-D `LayerChainBlock`
            and `CellBlock` for signals; among `nasplug.blocks.ConvBlock`, 2-D
            `CellBlock` and `LayerChainBlock` for images; AutoKeras's embedding, then
            `ConvBlock` and `DenseBlock` or the 1-D families, for text), an
            `autokeras.Block` or a list of them applied in order (wrapped between our
            input and output layers), or a `keras_tuner.HyperModel` / function
            `hp -> model` returning a compiled model whose output is one probability per
            class (or a
            single sigmoid unit for two classes); it is trained on class indices
            `0 .. n_classes - 1`.
        input_kind: What X holds: "auto" (from its shape: 2-D a table, 3-D signals
            (n, steps, channels), 4-D images, 1-D strings text), "tabular" (more axes
            are flattened), "sequence" (2-D X is (n, steps), one channel), "image"
            (3-D X is (n, height, width), one channel) or "text".
        scoring: scikit-learn scorer name or callable, computed on the validation
            data and maximized by the search. None means accuracy.
        validation_split: Fraction of the data held out for scoring trials
            (stratified when every class allows it). Ignored if `validation_data`, or
            when trials are cross-validated (`cv`).
        validation_data: Tuple `(X_val, y_val)` or `(X_val, y_val, sample_weight_val)`
            scoring trials instead of a split.
        batch_size: Training batch size.
        learning_rate: Adam's learning rate; None searches it among 1e-3, 1e-2, 1e-4
            (only for the default space and AutoKeras blocks).
        callbacks: Keras callbacks of every trial. None means early stopping on the
            validation loss, restoring the best weights; `[]` turns it off.
        max_model_size: Trials whose network has more parameters fail.
        refit: Retrain the best architecture on all data (training + validation) for
            the number of epochs that served it best (all of `epochs_` when the default
            early stopping read that number off fewer than 100 validation samples, a
            fold's or the held-out part's). With several objectives or a
            constraint it also says which member of `pareto_front_` becomes
            `best_model_`, as `GridSearchCV(refit=...)` does: True (or False, without
            retraining) keeps the first, the best in the first objective among the
            networks that meet the constraints; an objective name keeps the best in
            that objective; a callable `pareto_front_ -> index` chooses itself
            (retraining it).
        directory: Where KerasTuner keeps the search (kept after fit). None uses a
            temporary directory removed after fit. Required in a KerasTuner distributed
            search (KERASTUNER_ORACLE_IP set), shared by all its processes: only the
            chief's `fit` ends with a model; a worker's only trains trials.
        random_state: Seed (int), `numpy.random.Generator` or None.
        verbose: 0 silent; 1 one progress line (`nasplug.progress`); 2 also Keras's
            per-epoch logs.
        time_budget: Optional seconds for the search: once spent, the running trial stops
            after its current batch and no new trial starts (the refit comes after).
        strategy_params: Optional dict of the strategy's own arguments, e.g.
            `{"population_size": 5}` for "evolution" (`nasplug.oracles.STRATEGIES[name]
            .own_parameters()` lists them); checked when `fit` starts.
        screening: Multi-fidelity screening (`nasplug.screening`): each candidate trains
            briefly first and only the promising ones continue to `epochs`, so that
            more architectures are tried for the same training. False (default): every
            trial trains to `epochs`; True; "auto": on when `epochs` allows three rungs
            (9 epochs or more) and the strategy is budgeted in trials; or a
            `nasplug.Screening`. When on, `max_trials` is a budget of that many full
            trials' epochs, and `search_results_` has one record per rung trained.
        categorical_features: Which columns of a table are categories, encoded inside
            the model (one-hot, or embeddings for columns of more than 10 levels when
            the search picks them): "auto" (default) takes columns of pandas
            `category` dtype and columns holding text or any value that is not a
            number, a boolean or missing; None takes none; or a list of column names,
            of column indices, or a boolean mask. Levels seen in fewer than 5 training
            rows, and values first seen at predict (which also warn, with an
            `UnseenCategoryWarning` naming the column and the values), share each
            column's "other" category. Booleans are numbers (0, 1). Missing values
            (NaN, None) are filled inside the model, with an indicator column for
            each column that had some in training.
        objectives: None (search `scoring` alone) or a list of names searched for
            their Pareto front: scikit-learn scorer names or "score" (maximised on the
            validation data) and measured costs of the network (minimised): "params",
            "flops", "latency" (ms to predict one sample on this machine) and
            "batch_latency" (ms for a batch of `batch_size`). E.g.
            `("accuracy", "latency")`. Not every strategy has a Pareto mode; the error
            names those that do.
        max_params: Optional int: networks with more parameters break a constraint.
        max_latency_ms: Optional float: networks slower than this to predict one sample
            break a constraint.
        constraints: Optional list of callables `metrics -> violation` (`<= 0` when
            satisfied), given a trial's metrics by name. A network that breaks a
            constraint is recorded with its violation (`constraint_violation`) and ranks
            after every network that meets them all, instead of failing.
        cv: How trials are scored without `validation_data`. "auto" (default):
            cross-validated over 3 folds (stratified when every class allows it) when
            the held-out part of `validation_split` would have fewer than 100 samples,
            since a score on a few dozen samples is too noisy to choose among networks
            by; otherwise on the held-out part. None: always the held-out part. An int
            of at least 2: always that many folds. A cross-validated trial trains one
            network per fold (so it costs that many trials' training), its score is
            the folds' mean and its epochs their mean best epoch; the best architecture
            is then retrained on all the data (so it needs `refit`, and neither
            screening nor Hyperband, which continue one network per candidate).
        ensemble_size: How many networks of the best architecture the refit trains on
            all the data, from seeds one apart (the first is the one network
            `ensemble_size=1` trains); `best_model_` averages their outputs (class
            probabilities, or predictions). "auto" (default): 5 when trials were
            cross-validated (data too small for a held-out part of 100 samples, where
            one network's accuracy depends on its seed by several points; five refits
            train about as much as 1.7 trials of 3 folds), else 1; and when the space
            chooses among families of networks (signals, images, text) and the best
            trial of another family scores within the best trial's standard deviation
            over the folds, 2 of the 5 take that trial's architecture (`ensemble_`
            lists them). More than one needs `refit` and a single objective.

    Attributes:
        classes_: Class labels, in the column order of `predict_proba`.
        n_features_in_: Number of features (columns) of X.
        feature_names_in_: Column names, when X was a pandas DataFrame.
        is_categorical_: Boolean mask of the columns taken as categories (a table),
            or None when there are none.
        best_model_: The chosen `keras.Model`. It takes what `predict` takes, as Keras
            inputs: for a table with categorical columns, a dict mapping each column
            name to an array of shape (n, 1) (text for categorical columns, floats with
            NaN for missing values elsewhere; call the model on it, or pass tensors to
            `predict`: Keras's array adapters take no text); for a numeric table,
            the float matrix; for images, the images; for text, token indices.
        best_params_: Its hyperparameter values.
        best_score_: Its validation score (the mean over the folds, when trials are
            cross-validated).
        search_results_: One dict per trial: `trial_id`, `hyperparameters`, `score`,
            `status`, `seconds` (the whole trial: build, train, score),
            `fit_seconds` (Keras's `fit` alone), `epochs` (trained when scored),
            `continues` (with screening, the trial whose network it trained further)
            and `score_std` (the standard deviation of the folds' scores, when trials
            are cross-validated);
            `pandas.DataFrame(search_results_)` tabulates it. Failed trials have no
            score.
        search_seconds_: Wall time of the search (without refitting).
        pareto_front_: With several objectives or a constraint: the non-dominated
            trials, best first in the first objective, one dict each with `trial_id`,
            `hyperparameters`, a value per objective (by its name), the constrained
            quantities and `constraint_violation`; `pandas.DataFrame(pareto_front_)`
            tabulates it. `search_results_` then carries the same values per trial.
        best_trial_id_: The trial of `best_model_`.
        epochs_: Maximum training epochs of a trial (`epochs`, or chosen from the
            number of training samples).
        ensemble_size_: How many networks `best_model_` averages (see
            `ensemble_size`): when more than one, its layers `member_0`, `member_1`,
            ... (those of its layer `ensemble` for a table with categories).
        ensemble_: The architectures of those networks, one dict per trial in member
            order (the best trial first): `trial` (its number, as in
            `search_results_`), `trial_id`, `networks` (how many of the
            members have its architecture), `hyperparameters` and `score`. Without a
            refit, the best trial alone.
    """

    _task = "classification"

    def _y_params(self):
        return {}

    def _learn_targets(self, y):
        check_classification_targets(y)
        self.classes_, y_model = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"NASClassifier needs at least 2 classes in y; got 1 class ({self.classes_[0]!r})."
            )
        return y_model.astype(np.int32)

    def _check_validation_targets(self, y):
        y = np.asarray(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(f"validation_data has labels not in y: {unknown.tolist()[:5]}.")
        return y

    def _encode_targets(self, y):
        return np.searchsorted(self.classes_, y).astype(np.int32)

    def _n_outputs(self):
        return len(self.classes_)

    def _target_scaling(self):
        return None, None

    def _check_weighted_targets(self, y_model, weights):
        weighted = np.bincount(y_model, weights=weights, minlength=len(self.classes_))
        if np.count_nonzero(weighted) < 2:
            kept = self.classes_[weighted > 0].tolist()
            raise ValueError(
                "NASClassifier needs at least 2 classes with a positive sample_weight; only "
                f"class {kept[0]!r} has any."
            )

    def _constant_output(self):
        return np.full(len(self.classes_), 1.0 / len(self.classes_))

    def _task_description(self):
        return f"a classification of {len(self.classes_)} classes"

    def predict_proba(self, X):
        """Returns class probabilities, columns in the order of `classes_`.

        Args:
            X: Inputs shaped like the training X.

        Returns:
            Array of shape (n_samples, n_classes).
        """
        return prediction.class_probabilities(self._model_output(X), len(self.classes_))

    def predict(self, X):
        """Returns the most probable class of each sample.

        Args:
            X: Inputs shaped like the training X.

        Returns:
            Array of shape (n_samples,) with labels from `classes_`.
        """
        proba = self.predict_proba(X)  # first: it raises NotFittedError when unfitted
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class NASRegressor(RegressorMixin, _NASEstimator):
    """Regressor whose network architecture is found by neural architecture search.

    Same arguments and attributes as `NASClassifier` except: `scoring` None means R²,
    y may be 1-D or 2-D (several targets), there is no `classes_`, and a user's
    hypermodel is trained on y as given, with one output per target. Networks of the
    default space and of AutoKeras blocks are trained on standardised targets (each
    target minus its mean, divided by its standard deviation), so the loss weighs the
    targets alike whatever their units; `best_model_` ends with a `Rescaling` layer
    that predicts in y's units.
    """

    _task = "regression"

    def _y_params(self):
        return {"multi_output": True, "y_numeric": True}

    def _learn_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim_ = y.ndim
        y2 = y.reshape(len(y), -1)
        tabular.check_float32(y2, None, "y")
        self._target_mean_ = y2.mean(axis=0).tolist()
        # A constant target would give a zero scale and a network that cannot move.
        self._target_scale_ = [s if s > 0 else 1.0 for s in y2.std(axis=0).tolist()]
        self.n_targets_ = y2.shape[1]
        return y2

    def _check_validation_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        if y.reshape(len(y), -1).shape[1] != self.n_targets_:
            raise ValueError(
                f"validation_data's y has {y.reshape(len(y), -1).shape[1]} targets; y has "
                f"{self.n_targets_}."
            )
        return y

    def _encode_targets(self, y):
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)

    def _n_outputs(self):
        return self.n_targets_

    def _target_scaling(self):
        return self._target_mean_, self._target_scale_

    def _check_weighted_targets(self, y_model, weights):
        pass  # any positive weight leaves something to fit

    def _constant_output(self):
        return np.asarray(self._target_mean_)

    def _task_description(self):
        return f"a regression of {self.n_targets_} target(s)"

    def predict(self, X):
        """Returns predicted targets.

        Args:
            X: Inputs shaped like the training X.

        Returns:
            Array of shape (n_samples,) for a 1-D training y, else
            (n_samples, n_targets).
        """
        output = self._model_output(X)
        return output.ravel() if self._y_ndim_ == 1 else output.reshape(len(output), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
