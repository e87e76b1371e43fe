"""Neural architecture search behind scikit-learn's `fit` / `predict`.

`NASClassifier().fit(X, y)` searches network architectures with a KerasTuner oracle
(any strategy of `nasplug.oracles.STRATEGIES`), scores every trial with a scikit-learn
scorer on validation data, and keeps the best network as `best_model_`. Both
estimators work wherever a scikit-learn estimator does: `Pipeline`, `GridSearchCV`,
`cross_val_score`, `clone`, pickle and joblib.

The search space is chosen from the data unless given (`nasplug.sklearn.spaces`):
AutoKeras's `DenseBlock` for tables (2-D X), 1-D cells and layer chains for signals (X
of shape (n, steps, channels)), AutoKeras's convolutional block beside 2-D cells and
chains for images (n, height, width, channels), AutoKeras's text blocks for a 1-D array
of strings; `input_kind` says which when the shape alone does not.
"""

import contextlib
import io
import numbers
import shutil
import tempfile
import time

import keras
import keras_tuner
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import check_scoring
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nasplug import oracles, progress
from nasplug.budget import TimeBudget
from nasplug.distributed import roles
from nasplug.sklearn import data, prediction, results, spaces
from nasplug.sklearn import hypermodels as search_spaces
from nasplug.sklearn.tuner import OBJECTIVE, ScoringTuner, epochs_for, train_network

# What `fit` learns from the search; a distributed worker's `fit` ends without them.
_SEARCH_ATTRIBUTES = (
    "best_model_",
    "best_params_",
    "best_score_",
    "best_trial_id_",
    "search_results_",
    "search_seconds_",
)


class _NASEstimator(BaseEstimator):
    """What `NASClassifier` and `NASRegressor` share; see their docstrings."""

    _task = None

    def __init__(
        self,
        strategy="evolution",
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
        random_state=None,
        verbose=0,
        time_budget=None,
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
        self.random_state = random_state
        self.verbose = verbose
        self.time_budget = time_budget

    # ------------------------------------------------------------------ fit

    def fit(self, X, y):
        """Searches an architecture for (X, y) and trains the best one.

        Args:
            X: Training inputs: a 2-D array or DataFrame (tabular), signals of shape
                (n, steps, channels), images of shape (n, height, width, channels), or
                a 1-D array of strings (text); see `input_kind`.
            y: Targets: class labels of any type (classifier), or a 1-D or 2-D array
                of numbers (regressor).

        Returns:
            self.
        """
        self._check_params()
        role = roles.role()
        X, y = self._validate_fit_data(X, y)
        y_model = self._learn_targets(y)
        rng = np.random.default_rng(data.seed_of(self.random_state))
        split_seed, seed = (int(s) for s in rng.integers(2**31 - 1, size=2))
        train, val = self._split(X, y, y_model, split_seed)
        self.epochs_ = self.epochs or epochs_for(len(train[2]), self.batch_size)

        X_all = np.concatenate([train[0], val[0]]) if self.validation_data is not None else X
        self._input_spec_ = search_spaces.InputSpec.from_data(self._kind_, X_all)
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
        directory = self.directory or tempfile.mkdtemp(prefix="nasplug-")
        search_start = time.perf_counter()
        try:
            tuner = self._make_tuner(hypermodel, val, seed, directory, role)
            # KerasTuner prints the traceback of every failed trial (oversized models,
            # diverged training) to stderr; at verbose=0 the failures are only recorded
            # in `search_results_`.
            quiet = contextlib.redirect_stderr(io.StringIO()) if not self.verbose else contextlib.nullcontext()
            callbacks = self._trial_callbacks()
            budget = None
            if self.time_budget is not None:
                budget = TimeBudget(self.time_budget).attach(tuner)
                callbacks.append(budget.callback())
            # The display only shows the budget's remainder; the budget is the search's.
            with quiet, progress.attach(tuner, verbose=self.verbose, time_budget=budget) as display:
                if self.verbose:
                    callbacks.append(display.epoch_callback())
                tuner.search(
                    self._to_model_input(train[0]),
                    train[2],
                    validation_data=(self._to_model_input(val[0]), val[2]),
                    epochs=self.epochs_,
                    batch_size=self.batch_size,
                    callbacks=callbacks,
                    fit_verbose=2 if self.verbose >= 2 else 0,
                    verbose=self.verbose,
                )
            search_seconds = time.perf_counter() - search_start
            if role == roles.WORKER:
                # The search goes on in other workers after this one is told to stop, so
                # only the chief can know its result.
                for name in _SEARCH_ATTRIBUTES:
                    self.__dict__.pop(name, None)
                return self
            found = results.SearchResults(tuner.oracle)
        finally:
            if self.directory is None:
                shutil.rmtree(directory, ignore_errors=True)

        self.search_results_ = found.trials
        self.best_trial_id_ = found.best_trial_id
        self.best_score_ = found.best_score
        self.best_params_ = found.best_params
        best_trial = tuner.oracle.get_trial(self.best_trial_id_)
        if self.refit:
            X_refit = np.concatenate([train[0], val[0]])
            y_refit = np.concatenate([train[2], val[2]])
            self.best_model_ = self._refit(
                hypermodel, best_trial, X_refit, y_refit, seed
            )
        elif role == roles.CHIEF:
            # A worker trained it and saved it in the trial's directory.
            self.best_model_ = tuner.load_model(best_trial)
        else:
            self.best_model_ = tuner.best_model
        self.search_seconds_ = float(search_seconds)
        return self

    def _check_params(self):
        oracles.get_oracle_class(self.strategy)  # raises on an unknown strategy
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
                f"time_budget must be a positive number of seconds or None; got {self.time_budget!r}."
            )
        if roles.role() is not None and self.directory is None:
            raise ValueError(
                f"This process is {roles.tuner_id()!r} of a distributed search "
                f"({roles.ENV_ORACLE_IP} is set), which needs `directory`: one directory that every "
                "process of the search reads and writes (workers save there the networks "
                "they train, for the chief)."
            )

    def _validate_fit_data(self, X, y):
        if data.is_text(X):
            self._kind_ = spaces.resolve_kind(self.input_kind, True, 1)
            X, y = validate_data(
                self, X, y, ensure_2d=False, dtype=None, ensure_min_samples=2, **self._y_params()
            )
            if X.ndim != 1:
                raise ValueError(f"Text input must be a 1-D array of strings; got shape {X.shape}.")
            X = X.astype(str)
        else:
            X, y = validate_data(
                self,
                X,
                y,
                allow_nd=True,
                dtype=(np.float64, np.float32),
                ensure_min_samples=2,
                **self._y_params(),
            )
            if X.ndim > 4:
                raise ValueError(
                    "X must be 2-D (samples, features), 3-D (samples, steps, channels) or "
                    f"4-D (samples, height, width, channels); got {X.ndim} dimensions."
                )
            self._kind_ = spaces.resolve_kind(self.input_kind, False, X.ndim)
            X = spaces.network_input(X.astype(np.float32, copy=False), self._kind_)
        self._sample_shape_ = X.shape[1:]
        return X, y

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
        return self._check_like_training(X, "X")

    def _check_like_training(self, X, what):
        """Checks and converts inputs shaped like the training X (`what` names them)."""
        if self._kind_ == search_spaces.TEXT:
            if not data.is_text(X):
                raise ValueError(
                    f"{type(self).__name__} was fitted on text; {what} must be a 1-D array "
                    "of strings."
                )
            return validate_data(self, X, ensure_2d=False, dtype=None, reset=False).astype(str)
        X = validate_data(self, X, allow_nd=True, dtype=(np.float64, np.float32), reset=False)
        X = spaces.network_input(X.astype(np.float32, copy=False), self._kind_)
        if X.shape[1:] != self._sample_shape_:
            raise ValueError(
                f"{what} has samples of shape {X.shape[1:]}, but {type(self).__name__} was "
                f"fitted on samples of shape {self._sample_shape_}."
            )
        return X

    def _split(self, X, y, y_model, seed):
        """Returns (X, y, y_model) for training and for validation."""
        if self.validation_data is not None:
            if not isinstance(self.validation_data, (tuple, list)) or len(self.validation_data) != 2:
                raise ValueError("validation_data must be a tuple (X_val, y_val).")
            X_val, y_val = self.validation_data
            X_val = self._check_like_training(X_val, "validation_data's X")
            y_val = self._check_validation_targets(y_val)
            return (X, y, y_model), (X_val, y_val, self._encode_targets(y_val))
        labels = y_model if self._task == "classification" else None
        try:
            train_idx, val_idx = data.holdout(len(y), self.validation_split, seed, labels)
        except ValueError as error:
            raise ValueError(f"{error} Lower validation_split.") from None
        return (
            (X[train_idx], y[train_idx], y_model[train_idx]),
            (X[val_idx], y[val_idx], y_model[val_idx]),
        )

    def _to_model_input(self, X):
        if self._kind_ == search_spaces.TEXT:
            return self._input_spec_.vectorize(X)
        return X

    def _trial_callbacks(self):
        if self.callbacks is not None:
            return list(self.callbacks)
        patience = max(3, self.epochs_ // 5)
        return [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
        ]

    def _make_tuner(self, hypermodel, val, seed, directory, role):
        objective = keras_tuner.Objective(OBJECTIVE, direction="max")
        oracle = oracles.make_oracle(
            self.strategy,
            objective=objective,
            max_trials=self.max_trials,
            # For a strategy that budgets epochs (Hyperband): at least two, for a bracket.
            max_epochs=max(self.epochs_, 2),
            seed=seed,
        )
        X_val_raw, y_val_raw = val[0], val[1]
        scorer = check_scoring(self, scoring=self.scoring)

        def score_model(model):
            # The scorer calls predict / predict_proba of an estimator; a shallow copy
            # of this one holding the trial's network lends it those methods (made by
            # hand: `copy.copy` would go through pickling's `__getstate__`).
            view = object.__new__(type(self))
            view.__dict__.update(self.__dict__, best_model_=model)
            # The validation rows are already an array; column names were checked.
            view.__dict__.pop("feature_names_in_", None)
            return float(scorer(view, X_val_raw, y_val_raw))

        return ScoringTuner(
            oracle,
            hypermodel,
            score_model,
            seed=seed,
            max_model_size=self.max_model_size,
            # In a distributed search the chief loads the best network from its trial
            # directory; a single process keeps it in memory instead.
            keep_models=role is not None,
            directory=directory,
            project_name="nasplug_estimator",
            # Every process of a distributed search opens the same project: none may wipe
            # it, and a restarted chief resumes from it.
            overwrite=role is None,
        )

    def _refit(self, hypermodel, best_trial, X, y_model, seed):
        epochs = int(best_trial.metrics.get_last_value("epochs") or self.epochs_)
        # Early stopping needs validation data, which refitting on all data has none of.
        callbacks = [
            c for c in (self.callbacks or []) if not isinstance(c, keras.callbacks.EarlyStopping)
        ]
        model, _, _ = train_network(
            hypermodel,
            best_trial.hyperparameters,
            seed,
            self._to_model_input(X),
            y_model,
            epochs=epochs,
            batch_size=self.batch_size,
            callbacks=callbacks,
            verbose=2 if self.verbose >= 2 else 0,
        )
        return model

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
        tags.non_deterministic = False
        return tags


class NASClassifier(ClassifierMixin, _NASEstimator):
    """Classifier whose network architecture is found by neural architecture search.

    `fit` runs a KerasTuner search: each trial builds a network from the search space,
    trains it on the training part of the data and scores it on the validation part
    with `scoring`; the best network, retrained on all the data if `refit`, predicts.

    Args:
        strategy: Search strategy: "evolution", "reinforce", "qlearning" (nasplug's),
            "random", "bayesian", "hyperband" (KerasTuner's) or "greedy" (AutoKeras's).
        max_trials: Number of architectures tried (Hyperband budgets epochs instead).
        epochs: Maximum training epochs per trial. None (the default) gives a trial at
            least 20 epochs and at least 250 optimizer steps: on a few dozen samples an
            epoch is one or two steps, and 20 of them are too few to train a network.
        search_space: None to choose one from the data (`nasplug.sklearn.spaces`:
            AutoKeras's `DenseBlock` for tables; a choice among 1-D `LayerChainBlock`
            and `CellBlock` for signals; among AutoKeras's `ConvBlock`, 2-D `CellBlock` and
            `LayerChainBlock` for images; AutoKeras's text blocks for text), an
            `autokeras.Block` or a list of them applied in order (wrapped between our
            input and output layers), or a `keras_tuner.HyperModel` / function
            `hp -> model` returning a compiled model whose output is one probability per class (or a
            single sigmoid unit for two classes); it is trained on class indices
            `0 .. n_classes - 1`.
        input_kind: What X holds: "auto" (from its shape: 2-D a table, 3-D signals
            (n, steps, channels), 4-D images, 1-D strings text), "tabular" (more axes
            are flattened), "sequence" (2-D X is (n, steps), one channel), "image"
            (3-D X is (n, height, width), one channel) or "text".
        scoring: scikit-learn scorer name or callable, computed on the validation
            data and maximized by the search. None means accuracy.
        validation_split: Fraction of the data held out for scoring trials
            (stratified when every class allows it). Ignored if `validation_data`.
        validation_data: Tuple `(X_val, y_val)` scoring trials instead of a split.
        batch_size: Training batch size.
        learning_rate: Adam's learning rate; None searches it among 1e-3, 1e-2, 1e-4
            (only for the default space and AutoKeras blocks).
        callbacks: Keras callbacks of every trial. None means early stopping on the
            validation loss, restoring the best weights; `[]` turns it off.
        max_model_size: Trials whose network has more parameters fail.
        refit: Retrain the best architecture on all data (training + validation) for
            the number of epochs that served it best.
        directory: Where KerasTuner keeps the search (kept after fit). None uses a
            temporary directory removed after fit. Required in a KerasTuner distributed
            search (KERASTUNER_ORACLE_IP set), shared by all its processes: only the
            chief's `fit` ends with a model; a worker's only trains trials.
        random_state: Seed (int), `numpy.random.Generator` or None.
        verbose: 0 silent; 1 one progress line (`nasplug.progress`); 2 also Keras's
            per-epoch logs.
        time_budget: Optional seconds for the search: once spent, the running trial stops
            after its current batch and no new trial starts (the refit comes after).

    Attributes:
        classes_: Class labels, in the column order of `predict_proba`.
        n_features_in_: Number of features (columns) of X.
        feature_names_in_: Column names, when X was a pandas DataFrame.
        best_model_: The chosen `keras.Model`.
        best_params_: Its hyperparameter values.
        best_score_: Its validation score.
        search_results_: One dict per trial: `trial_id`, `hyperparameters`, `score`,
            `status`, `seconds` (the whole trial: build, train, score) and
            `fit_seconds` (Keras's `fit` alone); `pandas.DataFrame(search_results_)`
            tabulates it. Failed trials have no score.
        search_seconds_: Wall time of the search (without refitting).
        epochs_: Maximum training epochs of a trial (`epochs`, or chosen from the
            number of training samples).
    """

    _task = "classification"

    def _y_params(self):
        return {}

    def _learn_targets(self, y):
        check_classification_targets(y)
        self.classes_, y_model = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "NASClassifier needs at least 2 classes in y; got 1 class "
                f"({self.classes_[0]!r})."
            )
        return y_model.astype(np.int32)

    def _check_validation_targets(self, y):
        y = np.asarray(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if len(unknown):
            raise ValueError(
                f"validation_data has labels not in y: {unknown.tolist()[:5]}."
            )
        return y

    def _encode_targets(self, y):
        return np.searchsorted(self.classes_, y).astype(np.int32)

    def _n_outputs(self):
        return len(self.classes_)

    def _target_scaling(self):
        return None, None

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
    hypermodel is trained on y as given, with one output per target.
    """

    _task = "regression"

    def _y_params(self):
        return {"multi_output": True, "y_numeric": True}

    def _learn_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        self._y_ndim_ = y.ndim
        y2 = y.reshape(len(y), -1)
        self._target_mean_ = y2.mean(axis=0).tolist()
        # A constant target would give a zero scale and a network that cannot move.
        self._target_scale_ = [s if s > 0 else 1.0 for s in y2.std(axis=0).tolist()]
        self.n_targets_ = y2.shape[1]
        return y2.astype(np.float32)

    def _check_validation_targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        if y.reshape(len(y), -1).shape[1] != self.n_targets_:
            raise ValueError(
                f"validation_data's y has {y.reshape(len(y), -1).shape[1]} targets; y has "
                f"{self.n_targets_}."
            )
        return y

    def _encode_targets(self, y):
        return np.asarray(y, dtype=np.float32).reshape(len(y), -1)

    def _n_outputs(self):
        return self.n_targets_

    def _target_scaling(self):
        return self._target_mean_, self._target_scale_

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
