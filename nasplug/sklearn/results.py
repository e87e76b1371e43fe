"""A finished search as the estimators' fitted attributes, and networks as bytes."""

import math
import os
import tempfile
import warnings

import keras

from nasplug import _convert, live, screening
from nasplug.budget import CUT_BY_BUDGET
from nasplug.oracles.pareto import VIOLATION
from nasplug.sklearn import objectives as objectives_module
from nasplug.sklearn.tuner import OBJECTIVE, trial_rank


class SearchResults:
    """What a search found, read from its oracle.

    Attributes:
        trials: One dict per trial, in trial order: `trial` (its number, from 1, as the
            progress line and the report show it), `trial_id`, `hyperparameters` (the
            values the trial's network was built from, see `nasplug.live`),
            `recorded_hyperparameters` (every value the oracle gave the trial, as the
            strategies learn from it and a resumed search continues from it), `score`,
            `status` (`COMPLETED` / `FAILED` / `INVALID`), `seconds` (build, train and
            score), `fit_seconds` (Keras's `fit` alone), `epochs` (the epochs the
            network was trained for when scored), `continues` (the trial whose
            network it trained further, in a screened search; else None) and
            `score_std` (the folds' standard deviation of a cross-validated trial's
            score; else None) and `cut_by_budget` (whether the time budget stopped its
            training, so that its score is that of a network trained less).
        best_trial_id: The id of the trial with the highest score, among the networks
            trained longest when the search screened them (or Hyperband scheduled them);
            of equal scores, one that trained as planned before one the budget cut.
        best_score: Its score.
        best_params: The values its network was built from, without KerasTuner's own
            (`tuner/...`).

    With several objectives or constraints (`spec.ranked`), each trial also has its
    objective values (by the user's names) and `constraint_violation`; `pareto_front`
    lists the front (`NASOracle.pareto_front()`), and `choose(refit)` makes the chosen
    member the best trial.

    Args:
        oracle: The search's oracle.
        spec: The estimator's objectives (`objectives.ObjectiveSpec`), or None.
        trial_dir: Callable giving a trial's directory from its id (the tuner's
            `get_trial_dir`), where each trial's live values are recorded; None shows
            every trial's whole record.

    Raises:
        RuntimeError: When no trial completed, with the last trial's error.
    """

    def __init__(self, oracle, spec=None, trial_dir=None):
        self.trials = []
        self._trial_dir = trial_dir
        best_id, best_rank = None, trial_rank(-math.inf, -math.inf, False)
        for trial_id, trial in sorted(
            oracle.trials.items(), key=lambda item: _convert.trial_key(item[0])
        ):
            score, seconds, fit_seconds, epochs, score_std = (
                float(trial.metrics.get_last_value(name)) if trial.metrics.exists(name) else None
                for name in (OBJECTIVE, "seconds", "fit_seconds", "epochs", "score_std")
            )
            status = str(getattr(trial.status, "value", trial.status))
            values = trial.hyperparameters.values
            record = {
                "trial": _convert.trial_number(trial_id, oracle.start_order),
                "trial_id": str(trial_id),
                "hyperparameters": _convert.plain(self._live(trial)),
                "recorded_hyperparameters": _convert.plain(values),
                "score": score,
                "status": status,
                "seconds": seconds,
                "fit_seconds": fit_seconds,
                "epochs": None if epochs is None else int(epochs),
                "continues": values.get(screening.CONTINUES),
                "score_std": score_std,
                "cut_by_budget": bool(_value(trial, CUT_BY_BUDGET)),
            }
            if spec is not None and spec.ranked:
                record.update(_ranked_values(trial, spec))
            self.trials.append(record)
            # A network trained longer outranks one screened out early, whatever their
            # scores: the scores of different training lengths do not compare.
            rank = trial_rank(values.get(screening.EPOCHS, 0), score, record["cut_by_budget"])
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
        self.oracle = oracle
        self.spec = spec
        self.pareto_front = None
        if spec is not None and spec.ranked:
            self.pareto_front = [
                {
                    "trial_id": str(t.trial_id),
                    "hyperparameters": self._params(t),
                    **_ranked_values(t, spec),
                }
                for t in oracle.pareto_front()
            ]
            best_id = self.pareto_front[0]["trial_id"]
            best_score = _score(oracle.get_trial(best_id))
        self._set_best(best_id, best_score)

    def choose(self, refit):
        """Makes the front member `refit` picks the best trial (see `objectives.choose`)."""
        if self.pareto_front is None:
            return
        member = self.pareto_front[
            objectives_module.choose(self.pareto_front, refit, self.spec.names)
        ]
        if member.get(VIOLATION):
            warnings.warn(
                "No network of the search satisfied the constraints; best_model_ is the one "
                f"that violates them least (trial {member['trial_id']}, violation "
                f"{member[VIOLATION]:.3g}). Raise max_trials or relax the constraints.",
                UserWarning,
                stacklevel=3,
            )
        self._set_best(member["trial_id"], _score(self.oracle.get_trial(member["trial_id"])))

    def record(self, trial_id):
        """The dict of `trials` of the trial `trial_id`."""
        return next(record for record in self.trials if record["trial_id"] == str(trial_id))

    def _set_best(self, best_id, best_score):
        self.best_trial_id = str(best_id)
        self.best_score = best_score
        self.best_params = self._params(self.oracle.get_trial(best_id))

    def _live(self, trial):
        trial_dir = None if self._trial_dir is None else self._trial_dir(trial.trial_id)
        return live.live_values(trial.hyperparameters.values, live.read(trial_dir))

    def _params(self, trial):
        return {
            name: value
            for name, value in _convert.plain(self._live(trial)).items()
            if not name.startswith("tuner/")
        }


def _value(trial, name):
    return float(trial.metrics.get_last_value(name)) if trial.metrics.exists(name) else None


def _score(trial):
    return (
        float(trial.metrics.get_last_value(OBJECTIVE)) if trial.metrics.exists(OBJECTIVE) else None
    )


def _ranked_values(trial, spec):
    metrics = {
        name: float(trial.metrics.get_last_value(name))
        for name in trial.metrics.metrics
        if trial.metrics.get_last_value(name) is not None
    }
    values = spec.values(metrics)
    # What the constraints limit, when it is not an objective already ("params" under
    # max_params, "latency" under max_latency_ms).
    for name in spec.constrained:
        values.setdefault(name, metrics.get(objectives_module.MEASURED[name]))
    values[VIOLATION] = metrics.get(VIOLATION, 0.0 if trial.status == "COMPLETED" else None)
    return values


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
