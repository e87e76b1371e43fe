"""Neural architecture search behind scikit-learn's `fit` / `predict`.

`NASClassifier().fit(X, y)` searches network architectures with a KerasTuner oracle
(any strategy of `nasplug.oracles.STRATEGIES`), scores every trial with a scikit-learn
scorer on validation data, and keeps the best network as `best_model_`. Both
estimators work wherever a scikit-learn estimator does: `Pipeline`, `GridSearchCV`,
`cross_val_score`, `clone`, pickle and joblib.

This module holds what the two estimators share: their parameters, the order of `fit`,
prediction, tags and pickling. The steps of `fit` are modules of their own, in the order
`fit` takes them: `_params` checks the parameters, `_fit_data` checks and prepares the data
once (with `_inputs` and `_targets`), `hypermodels` builds the searchable networks around
it, `_search` runs the search, `results` reads what it found, and `_refit` trains the
network kept. `_defaults` holds the chosen defaults, each with what chose it; `_classes`
the two estimators themselves, each with its docstring.
"""

import shutil
import tempfile
import time
import warnings

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from nasplug import _quiet
from nasplug.budget import TimeBudget, TimeBudgetWarning
from nasplug.distributed import roles
from nasplug.sklearn import (
    _backend,
    _budget,
    _fit_data,
    _inputs,
    _params,
    _refit,
    _search,
    data,
    hypermodels,
    prediction,
    results,
    resume,
    spaces,
)

# The tuned defaults, importable from here as before they had a module of their own.
from nasplug.sklearn._defaults import (  # noqa: F401
    AUTO_CV_BELOW,
    AUTO_CV_FOLDS,
    AUTO_ENSEMBLE_SIZE,
    AUTO_SCREENING_EPOCHS,
    BEST_EPOCH_SAMPLES,
    FAMILY_SHARE,
)
from nasplug.sklearn.tuner import epochs_for

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
    "refit_epochs_",
    "fit_seconds_",
    "budget_note_",
)


class _NASEstimator(BaseEstimator):
    """What `NASClassifier` and `NASRegressor` share; see their docstrings (`_classes`)."""

    # What y is and how the networks are trained on it (`_targets`).
    _target_type = None

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
        backend=None,
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
        self.backend = backend

    # ------------------------------------------------------------------ fit

    @_quiet.many_networks()
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
        started = time.monotonic()
        spec = _params.check(self)
        if self.backend is not None:
            return _backend.fit(self, X, y, sample_weight, spec, started)
        self.__dict__.pop("workers_", None)
        role = roles.role()
        # A search kept in `directory` is resumed, unless it is another search (checked
        # below, before any training) or `overwrite`. A distributed search's processes
        # share their project by KerasTuner's own rules (see `_search.make_tuner`).
        kept = None
        if self.directory is not None and role is None:
            kept = resume.KeptSearch(self.directory, self.overwrite)
        base_seed = kept.seed(self.random_state) if kept else data.seed_of(self.random_state)
        return self._fit(X, y, sample_weight, spec, started, role, kept, base_seed)

    def _fit(self, X, y, sample_weight, spec, started, role, kept, base_seed, directory=None):
        """`fit`, its parameters checked, as `role` of the search, from `base_seed`.

        `kept` is the `resume.KeptSearch` in the search's directory, or None; `directory`
        the search's directory when it is not `self.directory` (`_backend`'s).
        """
        # The budget bounds the whole fit, the data's checks included.
        budget = None
        if self.time_budget is not None:
            budget = TimeBudget(self.time_budget).start(at=started)
        rng = np.random.default_rng(base_seed)
        split_seed, seed = (int(s) for s in rng.integers(2**31 - 1, size=2))

        prepared = _fit_data.prepare(self, X, y, sample_weight, split_seed)
        self.__dict__.update(prepared.targets.fitted_attributes())
        categorical = self._categorical_
        self.is_categorical_ = np.asarray(categorical) if categorical and any(categorical) else None
        self._input_spec_ = prepared.input_spec
        self.epochs_ = self.epochs or epochs_for(prepared.n_train, self.batch_size)
        # A scorer that cannot score this task fails now, not after the whole search.
        scorer = _search.checked_scorer(self, prepared)
        hypermodel = hypermodels.make_hypermodel(
            self.search_space,
            prepared.input_spec,
            prepared.targets.task,
            prepared.targets.n_outputs,
            *prepared.targets.scaling,
            learning_rate=self.learning_rate,
        )
        hypermodels.check_takes_data(hypermodel, prepared.input_spec)
        if kept is not None:
            definition = resume.search_definition(self, prepared)
            if kept.resuming:
                kept.check(definition, hypermodel, base_seed)

        wanted_size = _refit.ensemble_size(self, prepared.folds is not None, spec.ranked)
        costs = _budget.RefitCosts(prepared, self.epochs_, self.batch_size, self.callbacks is None)
        if budget is not None and self.refit and role != roles.WORKER:
            budget.reserve = _budget.search_reserve(costs, wanted_size, budget.seconds)

        temporary = directory is None and self.directory is None
        directory = directory or self.directory or tempfile.mkdtemp(prefix="nasplug-")
        search_start = time.perf_counter()
        tuner = None
        try:
            tuner = _search.make_tuner(
                self, prepared, hypermodel, scorer, spec, seed, directory, role
            )
            if kept is not None and not kept.resuming:
                kept.begin(definition, tuner.oracle.hyperparameters, base_seed)
            training = _search.trial_training(self, prepared, hypermodel)
            _search.run(tuner, training, self.verbose, budget)
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
            left = None
            if budget is not None and self.refit:
                left = budget.end_search().remaining
            plan = _budget.plan_refit(
                found,
                best_trial,
                wanted_size,
                self.ensemble_size == "auto",
                costs,
                left,
                _refit.searched_at_hand(tuner, best_trial, role),
            )
            trained_epochs, cut = [], False
            if self.refit and not plan.keep_searched:
                network, trained_epochs, cut = _refit.refit(
                    hypermodel,
                    plan.members,
                    plan.epochs,
                    prepared,
                    seed,
                    batch_size=self.batch_size,
                    callbacks=self.callbacks,
                    verbose=self.verbose,
                    budget=budget,
                    least_seconds=[costs.start_seconds(trial) for trial in plan.members],
                )
                members = plan.members[: len(trained_epochs)]
            else:
                members = plan.members[:1]
                network = _refit.searched_network(tuner, best_trial, training, role, spec.ranked)
        except KeyboardInterrupt as interrupt:
            raise resume.interrupted(interrupt, tuner, self.directory) from None
        finally:
            if temporary:
                shutil.rmtree(directory, ignore_errors=True)

        self.search_results_ = found.trials
        if found.pareto_front is not None:
            self.pareto_front_ = found.pareto_front
        else:
            self.__dict__.pop("pareto_front_", None)
        self.best_trial_id_ = found.best_trial_id
        self.ensemble_size_ = len(members)
        self.ensemble_ = _refit.summary(members, found)
        self.refit_epochs_ = trained_epochs
        self.best_score_ = found.best_score
        self.best_params_ = found.best_params
        self.best_model_ = hypermodels.end_to_end(hypermodel, network)
        self.search_seconds_ = float(search_seconds)
        self.budget_note_ = ""
        if self.refit:
            self.budget_note_ = _budget.shrunk(
                plan, wanted_size, trained_epochs, cut, self.time_budget
            )
        if self.budget_note_:
            warnings.warn(self.budget_note_, TimeBudgetWarning, stacklevel=2)
        self.fit_seconds_ = float(time.monotonic() - started)
        return self

    def _check_params(self):
        """Raises a ValueError naming the first parameter that cannot be used (`_params`)."""
        _params.check(self)

    def _screening(self, epochs=None):
        """The `Screening` of this search, or None (`_params.screening`)."""
        return _params.screening(self, epochs)

    # -------------------------------------------------------------- predict

    def __sklearn_is_fitted__(self):
        return hasattr(self, "best_model_")

    @_quiet.many_networks()
    def _model_output(self, X):
        """The output of `best_model_` for inputs shaped like the training X."""
        check_is_fitted(
            self,
            msg=(
                "This %(name)s ran as a worker of a distributed search: workers only train "
                "trials. Use the chief's estimator, which holds the search's result."
                if roles.role() == roles.WORKER
                else None
            ),
        )
        X = _inputs.check_like_training(self, X)
        if self._kind_ == spaces.TABULAR:
            self._input_spec_.table.warn_unseen(X)
        return prediction.model_output(self.best_model_, self._input_spec_.model_input(X))

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


def __getattr__(name):
    # The estimators live in `_classes`, beside their docstrings; this path stays theirs too.
    if name in ("NASClassifier", "NASRegressor"):
        from nasplug.sklearn import _classes

        return getattr(_classes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
