"""The network `fit` keeps: the best architecture retrained on all the data, or as searched.

With `refit`, the architecture of the chosen trial is trained again on every row (the
training rows and the validation rows) for the epochs that served it best, and with
`ensemble_size` above one several such networks, from seeds one apart, are averaged into
one model (`hypermodels.average_networks`). With `ensemble_size="auto"` after
cross-validated trials, some of them may take the architecture of another family of
networks that the folds could not tell from the best (`ensemble_trials`). Without
`refit`, the network the search trained for the chosen trial is kept. Within a
`time_budget`, `_budget` plans a refit that ends in time.

This module is the only one that trains a network outside a trial (`_training.train`).
"""

import collections

import keras

from nasplug import _training
from nasplug.distributed import roles
from nasplug.sklearn import _defaults, hypermodels, spaces


def ensemble_size(estimator, cross_validated, ranked):
    """How many networks the refit averages (see the `ensemble_size` parameter).

    Args:
        estimator: The estimator being fitted.
        cross_validated: Whether the search's trials were cross-validated.
        ranked: Whether trials are ranked on a Pareto front (`ObjectiveSpec.ranked`).
    """
    if estimator.ensemble_size != "auto":
        return estimator.ensemble_size
    if not cross_validated or ranked or not estimator.refit:
        return 1
    return _defaults.AUTO_ENSEMBLE_SIZE


def ensemble_trials(found, best_trial, size, mix_families):
    """The trial whose architecture each of the refit's `size` networks has.

    All the best trial's, except with `mix_families` (`ensemble_size="auto"`) in a space
    that chooses among families of networks (`spaces.FAMILY`: signals, images, text) when
    the cross-validated scores cannot tell the best family from another: when the best
    trial of another family scores within the best trial's standard deviation over the
    folds, `FAMILY_SHARE` of the networks take its architecture.

    Args:
        found: The search's `results.SearchResults`.
        best_trial: The chosen `keras_tuner` trial.
        size: How many networks the refit averages.
        mix_families: Whether another family may take a share of them.

    Returns:
        A list of `size` trials, the best trial's first.
    """
    members = [best_trial] * size
    if not mix_families or size < 2:
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
    shared = int(size * _defaults.FAMILY_SHARE)
    partner_trial = found.oracle.get_trial(partner["trial_id"])
    return members[: size - shared] + [partner_trial] * shared


def summary(members, found):
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


def refit(
    hypermodel,
    members,
    epochs,
    fit_data,
    seed,
    batch_size,
    callbacks,
    verbose,
    budget=None,
    least_seconds=None,
):
    """Trains each member's architecture on all the rows; returns their average.

    Args:
        hypermodel: The search's `keras_tuner.HyperModel`.
        members: The trials of `ensemble_trials`; member `i` trains from `seed + i`.
        epochs: The epochs each member trains for (`refit_epochs`, or fewer in a budget).
        fit_data: The fit's `_fit_data.FitData`.
        seed: Int, the search's seed (member 0 trains from it).
        batch_size: The training batch size.
        callbacks: The estimator's `callbacks` (None: the default early stopping).
        verbose: The estimator's `verbose`.
        budget: Optional `nasplug.budget.TimeBudget` of the fit: each network stops at the
            end of the batch that spends it, and no member starts once it is spent. A
            member other than the first that it stops is left out: half trained, it would
            pull the average down.
        least_seconds: Optional list, what each member costs at least (its build, trace
            and an epoch; None where unknown): a member other than the first starts only
            when the budget has that much left, as one that cannot train an epoch in it
            would only overrun the budget by its trace before it is left out.

    Returns:
        (A `keras.Model`: the one network, or the average of several; the epochs each
        network in it trained; whether the budget stopped the first network).
    """
    rows = fit_data.refit_rows()
    x = fit_data.network_input(rows.X)
    y = hypermodels.standardize_targets(hypermodel, rows.y_model)
    # Early stopping needs validation data, which refitting on all data has none of.
    kept_callbacks = tuple(
        c for c in (callbacks or []) if not isinstance(c, keras.callbacks.EarlyStopping)
    )
    if budget is not None:
        kept_callbacks += (budget.callback(),)
    networks, trained_epochs, cut = [], [], False
    for member, (trial, member_epochs) in enumerate(zip(members, epochs)):
        if member and budget is not None:
            least = least_seconds[member] if least_seconds else None
            if budget.spent or (least is not None and budget.remaining < least):
                break
        trained = _training.train(
            _training.Training(
                hypermodel,
                trial.hyperparameters,
                x,
                y,
                epochs=member_epochs,
                batch_size=batch_size,
                seed=seed + member,
                callbacks=kept_callbacks,
                verbose=2 if verbose >= 2 else 0,
                sample_weight=rows.sample_weight,
            )
        )
        stopped = budget is not None and budget.spent and trained.model.stop_training
        if member and stopped:
            break
        cut = cut or stopped
        networks.append(trained.model)
        trained_epochs.append(len(trained.history.epoch))
    return hypermodels.average_networks(networks), trained_epochs, cut


def refit_epochs(trial, n_validation, epochs, default_early_stopping):
    """Epochs the refit trains a trial's architecture for on all the data.

    Args:
        trial: A `keras_tuner` trial (the chosen one, or another member's).
        n_validation: Int, the validation samples its useful epochs were read off (the
            smallest fold's, when cross-validated).
        epochs: A trial's maximum epochs (`epochs_`).
        default_early_stopping: Whether the trials stopped by the default early stopping.

    Returns:
        The trial's useful epochs (its best epoch under early stopping); `epochs` when the
        default early stopping read them off fewer than `BEST_EPOCH_SAMPLES` samples.
    """
    if default_early_stopping and n_validation < _defaults.BEST_EPOCH_SAMPLES:
        return epochs
    return int(trial.metrics.get_last_value("epochs") or epochs)


def searched_at_hand(tuner, best_trial, role):
    """Whether the network the search trained for `best_trial` is in memory (no cost)."""
    return (
        role is None and tuner.best_model is not None and tuner.best_trial_id == best_trial.trial_id
    )


def searched_network(tuner, best_trial, training, role, ranked):
    """The network the search trained for `best_trial` (`refit=False`).

    Args:
        tuner: The search's `ScoringTuner`.
        best_trial: The chosen trial.
        training: The search's `_search.TrialTraining`.
        role: This process's role in a distributed search, or None.
        ranked: Whether the trial was chosen on a Pareto front.
    """
    if role == roles.CHIEF or (ranked and best_trial.trial_id != tuner.best_trial_id):
        # A worker trained it and saved it in the trial's directory; or it is the front
        # member chosen, not the network of the highest score kept in memory (every trial
        # of such a search saves its own).
        return tuner.load_model(best_trial)
    # Trained in this process, or by an earlier one whose search this resumed.
    # (Without the budget's callback: a spent budget must not cut it short.)
    args, kwargs = training.arguments()
    return tuner.trained_model(best_trial, *args, **kwargs)
