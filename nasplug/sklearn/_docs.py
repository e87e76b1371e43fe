"""The docstrings of `NASClassifier` and `NASRegressor`, each complete, written once.

The two estimators take the same parameters and learn the same attributes but for a
few words (what y is, the default scoring, how a user's network ends); one text with
those words left open keeps both docstrings whole and the same wherever they agree.
The figures of the "auto" defaults are read from `_defaults`, so the text cannot
disagree with the code. The text is wrapped after the words are filled in.
"""

import re
import textwrap

from nasplug.sklearn import _defaults

# The docstrings' line length, as the project's code.
_WIDTH = 88
_HELD = "\x00"

_TEMPLATE = """{summary}

    `fit` runs a KerasTuner search: each trial builds a network from the search space,
    trains it on the training part of the data and scores it on the validation part
    with `scoring`; the best network, retrained on all the data if `refit`, predicts.
{task_note}
    Args:
        strategy: Search strategy: "predictor" (the default: regularized evolution whose
            children a Gaussian process ranks), "evolution", "reinforce", "qlearning"
            (nasplug's), "random", "bayesian", "hyperband" (KerasTuner's) or "greedy"
            (AutoKeras's); or any name registered in `nasplug.oracles.registry`.
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
            `hp -> model` returning a compiled model{own_model}.
        input_kind: What X holds: "auto" (from its shape: 2-D a table, 3-D signals
            (n, steps, channels), 4-D images, 1-D strings text), "tabular" (more axes
            are flattened), "sequence" (2-D X is (n, steps), one channel), "image"
            (3-D X is (n, height, width), one channel) or "text".
        scoring: scikit-learn scorer name or callable, computed on the validation
            data and maximized by the search. None means {default_scoring}.
        validation_split: Fraction of the data held out for scoring trials{stratified}.
            Ignored if `validation_data`, or when trials are cross-validated (`cv`).
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
            early stopping read that number off fewer than {best_epoch_samples}
            validation samples, a fold's or the held-out part's). With several
            objectives or a constraint it also says which member of `pareto_front_`
            becomes `best_model_`, as `GridSearchCV(refit=...)` does: True (or False,
            without retraining) keeps the first, the best in the first objective among
            the networks that meet the constraints; an objective name keeps the best in
            that objective; a callable `pareto_front_ -> index` chooses itself
            (retraining it).
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
        time_budget: Optional seconds for the search: once spent, the running trial stops
            after its current batch and no new trial starts (the refit comes after).
        strategy_params: Optional dict of the strategy's own arguments, e.g.
            `{{"population_size": 5}}` for "evolution" (`nasplug.oracles.STRATEGIES[name]
            .own_parameters()` lists them); checked when `fit` starts.
        screening: Multi-fidelity screening (`nasplug.screening`): each candidate trains
            briefly first and only the promising ones continue to `epochs`, so that
            more architectures are tried for the same training. False (default): every
            trial trains to `epochs`; True; "auto": on when `epochs` allows three rungs
            ({auto_screening_epochs} epochs or more) and the strategy is budgeted in
            trials; or a `nasplug.screening.Screening`. When on, `max_trials` is a budget of that
            many full trials' epochs, and `search_results_` has one record per rung
            trained.
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
            `("{example_metric}", "latency")`. Not every strategy has a Pareto mode; the
            error names those that do.
        max_params: Optional int: networks with more parameters break a constraint.
        max_latency_ms: Optional float: networks slower than this to predict one sample
            break a constraint.
        constraints: Optional list of callables `metrics -> violation` (`<= 0` when
            satisfied), given a trial's metrics by name. A network that breaks a
            constraint is recorded with its violation (`constraint_violation`) and ranks
            after every network that meets them all, instead of failing.
        cv: How trials are scored without `validation_data`. "auto" (default):
            cross-validated over {auto_cv_folds} folds{stratified} when the held-out
            part of `validation_split` would have fewer than {auto_cv_below} samples,
            since a score on a few dozen samples is too noisy to choose among networks
            by; otherwise on the held-out part. None: always the held-out part. An int
            of at least 2: always that many folds{stratified}. A scikit-learn splitter
            (`KFold`, `StratifiedKFold`, `ShuffleSplit`, ... from
            `sklearn.model_selection`): the folds it makes, split from {split_targets}
            (give it a `random_state` for a search that resumes on the same folds). A
            cross-validated trial trains one network per fold (so it costs that many
            trials' training), its score is the folds' mean and its epochs their mean
            best epoch; the best architecture is then retrained on all the data (so it
            needs `refit`, and neither screening nor Hyperband, which continue one
            network per candidate).
        ensemble_size: How many networks of the best architecture the refit trains on
            all the data, from seeds one apart (the first is the one network
            `ensemble_size=1` trains); `best_model_` averages their {outputs}. "auto"
            (default): {auto_ensemble_size} when trials were cross-validated (data too
            small for a held-out part of {auto_cv_below} samples, where one network's
            score depends on its seed by several points), else 1; and when the space
            chooses among families of networks (signals, images, text) and the best
            trial of another family scores within the best trial's standard deviation
            over the folds, {family_networks} of the {auto_ensemble_size} take that
            trial's architecture (`ensemble_` lists them). More than one needs `refit`
            and a single objective.

    Attributes:
{task_attributes}
        n_features_in_: Number of features (columns) of X.
        feature_names_in_: Column names, when X was a pandas DataFrame.
        is_categorical_: Boolean mask of the columns taken as categories (a table),
            or None when there are none.
        best_model_: The chosen `keras.Model`. It takes what `predict` takes, as Keras
            inputs: for a table with categorical columns, a dict mapping each column
            name to an array of shape (n, 1) (text for categorical columns, floats with
            NaN for missing values elsewhere; call the model on it, or pass tensors to
            `predict`: Keras's array adapters take no text); for a numeric table,
            the float matrix; for images, the images; for text, token indices.{model_end}
        best_params_: Its hyperparameter values.
        best_score_: Its validation score (the mean over the folds, when trials are
            cross-validated).
        search_results_: One dict per trial: `trial_id`, `hyperparameters`, `score`,
            `status`, `seconds` (the whole trial: build, train, score),
            `fit_seconds` (Keras's `fit` alone), `epochs` (trained when scored),
            `continues` (with screening, the trial whose network it trained further)
            and `score_std` (the standard deviation of the folds' scores, when trials
            are cross-validated); `pandas.DataFrame(search_results_)` tabulates it.
            Failed trials have no score.
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

_TASKS = {
    "classification": dict(
        summary="Classifier whose network architecture is found by neural architecture search.",
        task_note="",
        own_model=(
            ": one probability per class out (or a single\n"
            "            sigmoid unit for two classes), trained on class indices "
            "`0 .. n_classes - 1`"
        ),
        default_scoring="accuracy",
        stratified=" (stratified when every class allows it)",
        split_targets="the class labels",
        example_metric="accuracy",
        outputs="outputs (class probabilities)",
        task_attributes="        classes_: Class labels, in the column order of `predict_proba`.",
        model_end="",
    ),
    "regression": dict(
        summary="Regressor whose network architecture is found by neural architecture search.",
        task_note=(
            "\n    y may hold one target or several (2-D). Networks of the default space and "
            "of\n    AutoKeras blocks are trained on standardised targets (each target minus "
            "its\n    mean, divided by its standard deviation), so that the loss weighs the "
            "targets\n    alike whatever their units; `best_model_` predicts in y's units.\n"
        ),
        own_model=": one output per target, trained on y as given",
        default_scoring="R²",
        stratified="",
        split_targets="the rows alone",
        example_metric="r2",
        outputs="outputs (predictions)",
        task_attributes=(
            "        n_targets_: Number of targets of y (columns of a 2-D y; 1 for a 1-D y)."
        ),
        model_end=(
            "\n            For the default space and AutoKeras blocks it ends with a "
            "`Rescaling`\n            layer named `output` that predicts in y's units."
        ),
    ),
}


def docstring(task):
    """The complete docstring of the estimator of `task` ("classification", "regression")."""
    return _rewrap(
        _TEMPLATE.format(
            best_epoch_samples=_defaults.BEST_EPOCH_SAMPLES,
            auto_screening_epochs=_defaults.AUTO_SCREENING_EPOCHS,
            auto_cv_folds=_defaults.AUTO_CV_FOLDS,
            auto_cv_below=_defaults.AUTO_CV_BELOW,
            auto_ensemble_size=_defaults.AUTO_ENSEMBLE_SIZE,
            family_networks=int(_defaults.AUTO_ENSEMBLE_SIZE * _defaults.FAMILY_SHARE),
            **_TASKS[task],
        )
    )


def _rewrap(text):
    """Wraps each paragraph and each `name: text` entry of a docstring to `_WIDTH`."""
    lines, words, indents = [], [], ("", "")

    def flush():
        if words:
            first, rest = indents
            # No break inside `code`: its spaces are held until the lines are cut.
            text = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", _HELD), " ".join(words))
            wrapped = textwrap.wrap(
                text,
                _WIDTH,
                initial_indent=first,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.extend(line.replace(_HELD, " ") for line in wrapped)
            words.clear()

    for line in text.splitlines():
        stripped = line.strip()
        lead = len(line) - len(line.lstrip())
        if not stripped or stripped.endswith(":") and " " not in stripped:
            # A blank line or a section's heading.
            flush()
            lines.append(line.rstrip())
        elif words and lead > len(indents[0]) or (words and lead == len(indents[0]) == 4):
            # An entry's continuation, or a paragraph's.
            words.append(stripped)
        else:
            flush()
            indents = (" " * lead, " " * (lead + 4 if lead == 8 else lead))
            words.append(stripped)
    flush()
    return "\n".join(lines) + "\n    "
