"""A finished search as the estimators' fitted attributes, and networks as bytes."""

import math
import os
import tempfile

import keras

from nasplug import _convert, screening
from nasplug.sklearn.tuner import OBJECTIVE


class SearchResults:
    """What a search found, read from its oracle.

    Attributes:
        trials: One dict per trial, in trial order: `trial` (its number, from 1, as the
            progress line and the report show it), `trial_id`, `hyperparameters`,
            `score`, `status` (`COMPLETED` / `FAILED` / `INVALID`), `seconds` (build,
            train and score), `fit_seconds` (Keras's `fit` alone), `epochs` (the
            epochs the network was trained for when scored) and `continues` (the trial
            whose network it trained further, in a screened search; else None).
        best_trial_id: The id of the trial with the highest score, among the networks
            trained longest when the search screened them (or Hyperband scheduled them).
        best_score: Its score.
        best_params: Its hyperparameter values, without KerasTuner's own (`tuner/...`).

    Raises:
        RuntimeError: When no trial completed, with the last trial's error.
    """

    def __init__(self, oracle):
        self.trials = []
        best_id, best_rank = None, (-math.inf, -math.inf)
        for trial_id, trial in sorted(oracle.trials.items(), key=lambda item: _convert.trial_key(item[0])):
            score, seconds, fit_seconds, epochs = (
                float(trial.metrics.get_last_value(name)) if trial.metrics.exists(name) else None
                for name in (OBJECTIVE, "seconds", "fit_seconds", "epochs")
            )
            status = str(getattr(trial.status, "value", trial.status))
            values = trial.hyperparameters.values
            self.trials.append(
                {
                    "trial": _convert.trial_number(trial_id, oracle.start_order),
                    "trial_id": str(trial_id),
                    "hyperparameters": _convert.plain(values),
                    "score": score,
                    "status": status,
                    "seconds": seconds,
                    "fit_seconds": fit_seconds,
                    "epochs": None if epochs is None else int(epochs),
                    "continues": values.get(screening.CONTINUES),
                }
            )
            # A network trained longer outranks one screened out early, whatever their
            # scores: the scores of different training lengths do not compare.
            rank = (values.get(screening.EPOCHS, 0), score)
            if status == "COMPLETED" and score is not None and rank > best_rank:
                best_id, best_rank = trial_id, rank
        best_score = best_rank[1]
        if best_id is None:
            messages = [t.message for t in oracle.trials.values() if t.message]
            detail = messages[-1].strip().splitlines()[-1] if messages else "no trial ran"
            raise RuntimeError(
                f"No trial of the architecture search completed ({detail}). Check the "
                "data and the search space, or raise max_trials."
            )
        self.best_trial_id = str(best_id)
        self.best_score = best_score
        self.best_params = {
            name: value
            for name, value in _convert.plain(oracle.get_trial(best_id).hyperparameters.values).items()
            if not name.startswith("tuner/")
        }


def model_to_bytes(model):
    """A `keras.Model` as the bytes of a `.keras` archive (for pickling)."""
    with tempfile.TemporaryDirectory(prefix="nasplug-") as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def model_from_bytes(data):
    """The `keras.Model` of bytes written by `model_to_bytes`."""
    with tempfile.TemporaryDirectory(prefix="nasplug-") as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return keras.saving.load_model(path)
