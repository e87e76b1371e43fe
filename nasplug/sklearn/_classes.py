"""`NASClassifier` and `NASRegressor`: what the two tasks change, and each one's docstring.

Everything they share (the parameters, the order of `fit`, prediction, tags, pickling) is
`estimators._NASEstimator`; each class here names what y is for it (`_targets`) and how
it predicts. Each carries its complete docstring, as scikit-learn's estimators do, so that
help(), an IDE and the API reference show it whole; `tests/sklearn/test_estimators.py`
checks that the two agree wherever the tasks do not differ, and that the figures they
give are those of `_defaults`.
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin

from nasplug.sklearn import _targets, prediction
from nasplug.sklearn.estimators import _NASEstimator


class NASClassifier(ClassifierMixin, _NASEstimator):
    """Classifier whose network architecture is found by neural architecture search.

    `fit` runs a KerasTuner search: each trial builds a network from the search space,
    trains it on the training part of the data and scores it on the validation part with
    `scoring`; the best network, retrained on all the data if `refit`, predicts.

    Args:
        strategy: Search strategy: "predictor" (the default: regularized evolution whose
            children a Gaussian process ranks), "evolution", "reinforce", "qlearning"
            (nasplug's), "random", "bayesian", "hyperband" (KerasTuner's) or "greedy"
            (AutoKeras's); or any name registered in `nasplug.oracles.registry`.
        max_trials: Number of architectures tried; with screening, a budget of that many
            full trials' epochs, which screens more architectures (Hyperband budgets
            epochs instead).
        epochs: Maximum training epochs per trial. None (the default) gives a trial at
            least 20 epochs and at least 500 optimizer steps: on a few dozen samples an
            epoch is one or two steps, and 20 of them are too few to train a network.
        search_space: None to choose one from the data (`nasplug.sklearn.spaces`:
            `nasplug.blocks.DenseBlock` for tables; a choice among 1-D `LayerChainBlock`
            and `CellBlock` for signals; among `nasplug.blocks.ConvBlock`, 2-D
            `CellBlock` and `LayerChainBlock` for images; AutoKeras's embedding, then
            `ConvBlock` and `DenseBlock` or the 1-D families, for text), an
            `autokeras.Block` or a list of them applied in order, or a
            `nasplug.sklearn.spaces.FamilyChoice` among such lists (wrapped between our
            input and output layers), or a `keras_tuner.HyperModel` / function
            `hp -> model` returning a compiled model: one probability per class out (or
            a single sigmoid unit for two classes), trained on class indices
            `0 .. n_classes - 1`.
        input_kind: What X holds: "auto" (from its shape: 2-D a table, 3-D signals (n,
            steps, channels), 4-D images, 1-D strings text), "tabular" (more axes are
            flattened), "sequence" (2-D X is (n, steps), one channel), "image" (3-D X is
            (n, height, width), one channel) or "text".
        scoring: scikit-learn scorer name or callable, computed on the validation data
            and maximized by the search. None means accuracy.
        validation_split: Fraction of the data held out for scoring trials (stratified
            when every class allows it). Ignored if `validation_data`, or when trials
            are cross-validated (`cv`).
        validation_data: Tuple `(X_val, y_val)` or `(X_val, y_val, sample_weight_val)`
            scoring trials instead of a split.
        batch_size: Training batch size.
        learning_rate: Adam's learning rate; None searches it among 1e-3, 1e-2, 1e-4
            (only for the default space and AutoKeras blocks).
        callbacks: Keras callbacks of every trial. None means early stopping on the
            validation loss, restoring the best weights; `[]` turns it off.
        max_model_size: Trials whose network has more parameters fail.
        refit: Retrain the best architecture on all data (training + validation) for the
            number of epochs that served it best (all of `epochs_` when the default
            early stopping read that number off fewer than 100 validation samples, a
            fold's or the held-out part's). With several objectives or a constraint it
            also says which member of `pareto_front_` becomes `best_model_`, as
            `GridSearchCV(refit=...)` does: True (or False, without retraining) keeps
            the first, the best in the first objective among the networks that meet the
            constraints; an objective name keeps the best in that objective; a callable
            `pareto_front_ -> index` chooses itself (retraining it).
        directory: Where KerasTuner keeps the search (kept after fit); `fit` run again
            with the same directory resumes it (`nasplug.sklearn.resume`). None uses a
            temporary directory removed after fit. Required in a KerasTuner distributed
            search (KERASTUNER_ORACLE_IP set), shared by all its processes: only the
            chief's `fit` ends with a model; a worker's only trains trials.
        overwrite: Whether `fit` starts over in `directory`, deleting the search kept
            there, instead of resuming it.
        random_state: Seed (a non-negative int), `numpy.random.Generator`,
            `numpy.random.RandomState` or None.
        verbose: 0 silent; 1 one progress line (`nasplug.progress`); 2 also Keras's
            per-epoch logs.
        time_budget: Optional seconds for the whole `fit`, counted from its start: the
            data's checks, the search and the refit. The search keeps back the seconds
            that the refit of its best architecture so far is expected to take (timed on
            its trials; before the first trial ends, the refit's share of an epoch of
            the trial and the refit together): no trial starts once only those are
            left, and the running trial stops after its current batch (a
            cross-validated trial skips its remaining folds). The refit then trains
            what fits in the seconds left: fewer of the `ensemble_size` networks, or one
            network for fewer epochs, or, when none fits and the search's network of
            the best trial is at hand (trials scored on a held-out part), that network
            as it is; it says what it cut with a `nasplug.budget.TimeBudgetWarning` and
            in `budget_note_`. One trial and one network always train, stopped after a
            batch when the budget is spent, so `fit` ends within the budget plus a
            batch and a network's build. A resumed search (`directory`) has the whole
            budget again.
        strategy_params: Optional dict of the strategy's own arguments, e.g.
            `{"population_size": 5}` for "evolution"
            (`nasplug.oracles.STRATEGIES[name] .own_parameters()` lists them); checked
            when `fit` starts.
        screening: Multi-fidelity screening (`nasplug.screening`): each candidate trains
            briefly first and only the promising ones continue to `epochs`, so that more
            architectures are tried for the same training. False (default): every trial
            trains to `epochs`; True; "auto": on when `epochs` allows three rungs (9
            epochs or more) and the strategy is budgeted in trials; or a
            `nasplug.screening.Screening`. When on, `max_trials` is a budget of that
            many full trials' epochs, and `search_results_` has one record per rung
            trained.
        categorical_features: Which columns of a table are categories, encoded inside
            the model (one-hot, or embeddings for columns of more than 10 levels when
            the search picks them): "auto" (default) takes columns of pandas `category`
            dtype and columns holding text or any value that is not a number, a boolean
            or missing; None takes none; or a list of column names, of column indices,
            or a boolean mask. Levels seen in fewer than 5 training rows, and values
            first seen at predict (which also warn, with an `UnseenCategoryWarning`
            naming the column and the values), share each column's "other" category.
            Booleans are numbers (0, 1). Missing values (NaN, None) are filled inside
            the model, with an indicator column for each column that had some in
            training.
        objectives: None (search `scoring` alone) or a list of names searched for their
            Pareto front: scikit-learn scorer names or "score" (maximised on the
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
            of at least 2: always that many folds (stratified when every class allows
            it). A scikit-learn splitter (`KFold`, `StratifiedKFold`, `ShuffleSplit`,
            ... from `sklearn.model_selection`): the folds it makes, split from the
            class labels (give it a `random_state` for a search that resumes on the same
            folds). A cross-validated trial trains one network per fold (so it costs
            that many trials' training), its score is the folds' mean and its epochs
            their mean best epoch; the best architecture is then retrained on all the
            data (so it needs `refit`, and neither screening nor Hyperband, which
            continue one network per candidate).
        ensemble_size: How many networks of the best architecture the refit trains on
            all the data, from seeds one apart (the first is the one network
            `ensemble_size=1` trains); `best_model_` averages their outputs (class
            probabilities). "auto" (default): 5 when trials were cross-validated (data
            too small for a held-out part of 100 samples, where one network's score
            depends on its seed by several points), else 1; and when the space chooses
            among families of networks (signals, images, text) and the best trial of
            another family scores within the best trial's standard deviation over the
            folds, 2 of the 5 take that trial's architecture (`ensemble_` lists them).
            More than one needs `refit` and a single objective.
        backend: Where the trials train. None (default): in this process. "ray" (or
            `nasplug.integrations.ray.RayBackend(...)`, which sets the cluster, the
            workers, the CPUs and GPUs of each trial and the retries): on the workers
            of a Ray cluster (`pip install "nasplug[ray]"`). The data go to the
            cluster once; this process proposes every trial, shows the progress,
            resumes from `directory` and refits, as a search in one process does; a
            worker whose process or node is lost is rerun by Ray and trains its trial
            again, and no completed trial is lost. On a cluster of several machines,
            give a `directory` that all of them reach for `refit=False`, which loads
            the best trial's network from there.

    Attributes:
        classes_: Class labels, in the column order of `predict_proba`.
        n_features_in_: Number of features (columns) of X.
        feature_names_in_: Column names, when X was a pandas DataFrame.
        is_categorical_: Boolean mask of the columns taken as categories (a table), or
            None when there are none.
        best_model_: The chosen `keras.Model`. It takes what `predict` takes, as Keras
            inputs: for a table with categorical columns, a dict of one array of shape
            (n, 1) per column (text for categorical columns, floats with NaN for missing
            values elsewhere; call the model on it, or pass tensors to `predict`: Keras's
            array adapters take no text), keyed by the column's name as a string ("x0",
            "x1", ... for an array without names; "/", which Keras refuses in names,
            becomes "_", and a repeated name gets "_2", "_3"), the keys of
            `best_model_.input`; for a numeric table, the float matrix (NaN for missing
            values); for images, the images; for text, token indices.
        best_params_: Its hyperparameter values.
        best_score_: Its validation score (the mean over the folds, when trials are
            cross-validated).
        search_results_: One dict per trial: `trial_id`, `hyperparameters`, `score`,
            `status`, `seconds` (the whole trial: build, train, score), `fit_seconds`
            (Keras's `fit` alone), `epochs` (trained when scored), `continues` (with
            screening, the trial whose network it trained further) and `score_std` (the
            standard deviation of the folds' scores, when trials are cross-validated);
            `pandas.DataFrame(search_results_)` tabulates it. Failed trials have no
            score.
        search_seconds_: Wall time of the search (without refitting).
        fit_seconds_: Wall time of the whole `fit` (what `time_budget` bounds).
        pareto_front_: With several objectives or a constraint: the non-dominated
            trials, best first in the first objective, one dict each with `trial_id`,
            `hyperparameters`, a value per objective (by its name), the constrained
            quantities and `constraint_violation`; `pandas.DataFrame(pareto_front_)`
            tabulates it. `search_results_` then carries the same values per trial.
        best_trial_id_: The trial of `best_model_`.
        epochs_: Maximum training epochs of a trial (`epochs`, or chosen from the number
            of training samples).
        ensemble_size_: How many networks `best_model_` averages (see `ensemble_size`;
            fewer when `time_budget` cut the refit): when more than one, its layers
            `member_0`, `member_1`, ... (those of its layer `ensemble` for a table with
            categories).
        ensemble_: The architectures of those networks, one dict per trial in member
            order (the best trial first): `trial` (its number, as in `search_results_`),
            `trial_id`, `networks` (how many of the members have its architecture),
            `hyperparameters` and `score`. Without a refit, the best trial alone.
        refit_epochs_: The epochs each of those networks was retrained for on all the
            data, in member order; empty when `best_model_` is a network of the search
            (`refit=False`, or no refit fitted in `time_budget`).
        budget_note_: What `time_budget` cut from the refit, in one line (the
            `TimeBudgetWarning`'s); "" when it cut nothing.
        workers_: With a `backend`, one dict per worker of the search, by tuner ID:
            `tuner_id` ("rayworker0", ...), `node_id`, `pid`, `gpu_ids` (the GPUs Ray
            gave it) and `cuda_visible_devices`.
    """

    _target_type = _targets.ClassLabels

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

    `fit` runs a KerasTuner search: each trial builds a network from the search space,
    trains it on the training part of the data and scores it on the validation part with
    `scoring`; the best network, retrained on all the data if `refit`, predicts.

    y may hold one target or several (2-D). Networks of the default space and of
    AutoKeras blocks are trained on standardised targets (each target minus its mean,
    divided by its standard deviation), so that the loss weighs the targets alike
    whatever their units; `best_model_` predicts in y's units.

    Args:
        strategy: Search strategy: "predictor" (the default: regularized evolution whose
            children a Gaussian process ranks), "evolution", "reinforce", "qlearning"
            (nasplug's), "random", "bayesian", "hyperband" (KerasTuner's) or "greedy"
            (AutoKeras's); or any name registered in `nasplug.oracles.registry`.
        max_trials: Number of architectures tried; with screening, a budget of that many
            full trials' epochs, which screens more architectures (Hyperband budgets
            epochs instead).
        epochs: Maximum training epochs per trial. None (the default) gives a trial at
            least 20 epochs and at least 500 optimizer steps: on a few dozen samples an
            epoch is one or two steps, and 20 of them are too few to train a network.
        search_space: None to choose one from the data (`nasplug.sklearn.spaces`:
            `nasplug.blocks.DenseBlock` for tables; a choice among 1-D `LayerChainBlock`
            and `CellBlock` for signals; among `nasplug.blocks.ConvBlock`, 2-D
            `CellBlock` and `LayerChainBlock` for images; AutoKeras's embedding, then
            `ConvBlock` and `DenseBlock` or the 1-D families, for text), an
            `autokeras.Block` or a list of them applied in order, or a
            `nasplug.sklearn.spaces.FamilyChoice` among such lists (wrapped between our
            input and output layers), or a `keras_tuner.HyperModel` / function
            `hp -> model` returning a compiled model: one output per target, trained on
            y as given.
        input_kind: What X holds: "auto" (from its shape: 2-D a table, 3-D signals (n,
            steps, channels), 4-D images, 1-D strings text), "tabular" (more axes are
            flattened), "sequence" (2-D X is (n, steps), one channel), "image" (3-D X is
            (n, height, width), one channel) or "text".
        scoring: scikit-learn scorer name or callable, computed on the validation data
            and maximized by the search. None means R².
        validation_split: Fraction of the data held out for scoring trials. Ignored if
            `validation_data`, or when trials are cross-validated (`cv`).
        validation_data: Tuple `(X_val, y_val)` or `(X_val, y_val, sample_weight_val)`
            scoring trials instead of a split.
        batch_size: Training batch size.
        learning_rate: Adam's learning rate; None searches it among 1e-3, 1e-2, 1e-4
            (only for the default space and AutoKeras blocks).
        callbacks: Keras callbacks of every trial. None means early stopping on the
            validation loss, restoring the best weights; `[]` turns it off.
        max_model_size: Trials whose network has more parameters fail.
        refit: Retrain the best architecture on all data (training + validation) for the
            number of epochs that served it best (all of `epochs_` when the default
            early stopping read that number off fewer than 100 validation samples, a
            fold's or the held-out part's). With several objectives or a constraint it
            also says which member of `pareto_front_` becomes `best_model_`, as
            `GridSearchCV(refit=...)` does: True (or False, without retraining) keeps
            the first, the best in the first objective among the networks that meet the
            constraints; an objective name keeps the best in that objective; a callable
            `pareto_front_ -> index` chooses itself (retraining it).
        directory: Where KerasTuner keeps the search (kept after fit); `fit` run again
            with the same directory resumes it (`nasplug.sklearn.resume`). None uses a
            temporary directory removed after fit. Required in a KerasTuner distributed
            search (KERASTUNER_ORACLE_IP set), shared by all its processes: only the
            chief's `fit` ends with a model; a worker's only trains trials.
        overwrite: Whether `fit` starts over in `directory`, deleting the search kept
            there, instead of resuming it.
        random_state: Seed (a non-negative int), `numpy.random.Generator`,
            `numpy.random.RandomState` or None.
        verbose: 0 silent; 1 one progress line (`nasplug.progress`); 2 also Keras's
            per-epoch logs.
        time_budget: Optional seconds for the whole `fit`, counted from its start: the
            data's checks, the search and the refit. The search keeps back the seconds
            that the refit of its best architecture so far is expected to take (timed on
            its trials; before the first trial ends, the refit's share of an epoch of
            the trial and the refit together): no trial starts once only those are
            left, and the running trial stops after its current batch (a
            cross-validated trial skips its remaining folds). The refit then trains
            what fits in the seconds left: fewer of the `ensemble_size` networks, or one
            network for fewer epochs, or, when none fits and the search's network of
            the best trial is at hand (trials scored on a held-out part), that network
            as it is; it says what it cut with a `nasplug.budget.TimeBudgetWarning` and
            in `budget_note_`. One trial and one network always train, stopped after a
            batch when the budget is spent, so `fit` ends within the budget plus a
            batch and a network's build. A resumed search (`directory`) has the whole
            budget again.
        strategy_params: Optional dict of the strategy's own arguments, e.g.
            `{"population_size": 5}` for "evolution"
            (`nasplug.oracles.STRATEGIES[name] .own_parameters()` lists them); checked
            when `fit` starts.
        screening: Multi-fidelity screening (`nasplug.screening`): each candidate trains
            briefly first and only the promising ones continue to `epochs`, so that more
            architectures are tried for the same training. False (default): every trial
            trains to `epochs`; True; "auto": on when `epochs` allows three rungs (9
            epochs or more) and the strategy is budgeted in trials; or a
            `nasplug.screening.Screening`. When on, `max_trials` is a budget of that
            many full trials' epochs, and `search_results_` has one record per rung
            trained.
        categorical_features: Which columns of a table are categories, encoded inside
            the model (one-hot, or embeddings for columns of more than 10 levels when
            the search picks them): "auto" (default) takes columns of pandas `category`
            dtype and columns holding text or any value that is not a number, a boolean
            or missing; None takes none; or a list of column names, of column indices,
            or a boolean mask. Levels seen in fewer than 5 training rows, and values
            first seen at predict (which also warn, with an `UnseenCategoryWarning`
            naming the column and the values), share each column's "other" category.
            Booleans are numbers (0, 1). Missing values (NaN, None) are filled inside
            the model, with an indicator column for each column that had some in
            training.
        objectives: None (search `scoring` alone) or a list of names searched for their
            Pareto front: scikit-learn scorer names or "score" (maximised on the
            validation data) and measured costs of the network (minimised): "params",
            "flops", "latency" (ms to predict one sample on this machine) and
            "batch_latency" (ms for a batch of `batch_size`). E.g. `("r2", "latency")`.
            Not every strategy has a Pareto mode; the error names those that do.
        max_params: Optional int: networks with more parameters break a constraint.
        max_latency_ms: Optional float: networks slower than this to predict one sample
            break a constraint.
        constraints: Optional list of callables `metrics -> violation` (`<= 0` when
            satisfied), given a trial's metrics by name. A network that breaks a
            constraint is recorded with its violation (`constraint_violation`) and ranks
            after every network that meets them all, instead of failing.
        cv: How trials are scored without `validation_data`. "auto" (default):
            cross-validated over 3 folds when the held-out part of `validation_split`
            would have fewer than 100 samples, since a score on a few dozen samples is
            too noisy to choose among networks by; otherwise on the held-out part. None:
            always the held-out part. An int of at least 2: always that many folds. A
            scikit-learn splitter (`KFold`, `StratifiedKFold`, `ShuffleSplit`, ... from
            `sklearn.model_selection`): the folds it makes, split from the rows alone
            (give it a `random_state` for a search that resumes on the same folds). A
            cross-validated trial trains one network per fold (so it costs that many
            trials' training), its score is the folds' mean and its epochs their mean
            best epoch; the best architecture is then retrained on all the data (so it
            needs `refit`, and neither screening nor Hyperband, which continue one
            network per candidate).
        ensemble_size: How many networks of the best architecture the refit trains on
            all the data, from seeds one apart (the first is the one network
            `ensemble_size=1` trains); `best_model_` averages their outputs
            (predictions). "auto" (default): 5 when trials were cross-validated (data
            too small for a held-out part of 100 samples, where one network's score
            depends on its seed by several points), else 1; and when the space chooses
            among families of networks (signals, images, text) and the best trial of
            another family scores within the best trial's standard deviation over the
            folds, 2 of the 5 take that trial's architecture (`ensemble_` lists them).
            More than one needs `refit` and a single objective.
        backend: Where the trials train. None (default): in this process. "ray" (or
            `nasplug.integrations.ray.RayBackend(...)`, which sets the cluster, the
            workers, the CPUs and GPUs of each trial and the retries): on the workers
            of a Ray cluster (`pip install "nasplug[ray]"`). The data go to the
            cluster once; this process proposes every trial, shows the progress,
            resumes from `directory` and refits, as a search in one process does; a
            worker whose process or node is lost is rerun by Ray and trains its trial
            again, and no completed trial is lost. On a cluster of several machines,
            give a `directory` that all of them reach for `refit=False`, which loads
            the best trial's network from there.

    Attributes:
        n_targets_: Number of targets of y (columns of a 2-D y; 1 for a 1-D y).
        n_features_in_: Number of features (columns) of X.
        feature_names_in_: Column names, when X was a pandas DataFrame.
        is_categorical_: Boolean mask of the columns taken as categories (a table), or
            None when there are none.
        best_model_: The chosen `keras.Model`. It takes what `predict` takes, as Keras
            inputs: for a table with categorical columns, a dict of one array of shape
            (n, 1) per column (text for categorical columns, floats with NaN for missing
            values elsewhere; call the model on it, or pass tensors to `predict`: Keras's
            array adapters take no text), keyed by the column's name as a string ("x0",
            "x1", ... for an array without names; "/", which Keras refuses in names,
            becomes "_", and a repeated name gets "_2", "_3"), the keys of
            `best_model_.input`; for a numeric table, the float matrix (NaN for missing
            values); for images, the images; for text, token indices. For the
            default space and AutoKeras blocks it ends with a `Rescaling` layer named
            `output` that predicts in y's units.
        best_params_: Its hyperparameter values.
        best_score_: Its validation score (the mean over the folds, when trials are
            cross-validated).
        search_results_: One dict per trial: `trial_id`, `hyperparameters`, `score`,
            `status`, `seconds` (the whole trial: build, train, score), `fit_seconds`
            (Keras's `fit` alone), `epochs` (trained when scored), `continues` (with
            screening, the trial whose network it trained further) and `score_std` (the
            standard deviation of the folds' scores, when trials are cross-validated);
            `pandas.DataFrame(search_results_)` tabulates it. Failed trials have no
            score.
        search_seconds_: Wall time of the search (without refitting).
        fit_seconds_: Wall time of the whole `fit` (what `time_budget` bounds).
        pareto_front_: With several objectives or a constraint: the non-dominated
            trials, best first in the first objective, one dict each with `trial_id`,
            `hyperparameters`, a value per objective (by its name), the constrained
            quantities and `constraint_violation`; `pandas.DataFrame(pareto_front_)`
            tabulates it. `search_results_` then carries the same values per trial.
        best_trial_id_: The trial of `best_model_`.
        epochs_: Maximum training epochs of a trial (`epochs`, or chosen from the number
            of training samples).
        ensemble_size_: How many networks `best_model_` averages (see `ensemble_size`;
            fewer when `time_budget` cut the refit): when more than one, its layers
            `member_0`, `member_1`, ... (those of its layer `ensemble` for a table with
            categories).
        ensemble_: The architectures of those networks, one dict per trial in member
            order (the best trial first): `trial` (its number, as in `search_results_`),
            `trial_id`, `networks` (how many of the members have its architecture),
            `hyperparameters` and `score`. Without a refit, the best trial alone.
        refit_epochs_: The epochs each of those networks was retrained for on all the
            data, in member order; empty when `best_model_` is a network of the search
            (`refit=False`, or no refit fitted in `time_budget`).
        budget_note_: What `time_budget` cut from the refit, in one line (the
            `TimeBudgetWarning`'s); "" when it cut nothing.
        workers_: With a `backend`, one dict per worker of the search, by tuner ID:
            `tuner_id` ("rayworker0", ...), `node_id`, `pid`, `gpu_ids` (the GPUs Ray
            gave it) and `cuda_visible_devices`.
    """

    _target_type = _targets.RegressionTargets

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
