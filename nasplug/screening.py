"""Multi-fidelity screening: more architectures for the same training budget.

A screened search trains each new candidate for a few epochs first and continues only the
promising ones, up to full training, as asynchronous successive halving (ASHA, Li et al.
2020) does. Which candidate trains for how many epochs is the screening oracle's decision
(`Screening`, `ScreeningOracle` and the rungs: `nasplug.oracles.screening`, re-exported
here). This module is the tuners' side: a continued trial resumes the same network from
the weights and optimizer state that its previous rung saved (`continue.weights.h5` in
that trial's directory), with Keras's `initial_epoch`, so its epoch count and its
optimizer's iterations carry on (`training_plan`, `ScreenedTuner`).
"""

import dataclasses
import os

from nasplug import _training
from nasplug.oracles import make_oracle  # noqa: F401 (its old path)
from nasplug.oracles.screening import (  # noqa: F401 (their old path)
    CONTINUES,
    EPOCHS,
    IDLE,
    INITIAL_EPOCH,
    Screening,
    ScreeningOracle,
    _own_values,
)

__all__ = ["Screening", "ScreeningOracle", "TrainingPlan", "training_plan"]

CHECKPOINT = "continue.weights.h5"


# -- training across rungs (the tuners' side) -------------------------------------------


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """How a trial trains: from which epoch to which, from which weights, saved where.

    Attributes:
        epochs: The epoch training ends at (Keras's `epochs`).
        initial_epoch: The epoch it starts from (Keras's `initial_epoch`): 0, or the
            epochs of the network it continues.
        load_from: The checkpoint of the network it continues, or None.
        save_to: Where the network is saved at the end for a later rung, or None.
    """

    epochs: int
    initial_epoch: int = 0
    load_from: str = None
    save_to: str = None

    def callbacks(self):
        """The Keras callbacks that carry the training over (a list, maybe empty)."""
        if not (self.load_from or self.save_to):
            return []
        return [_training.ContinueTraining(self.load_from, self.save_to)]

    def fit_kwargs(self, fit_kwargs):
        """`fit_kwargs` with this plan's epochs and callbacks."""
        return dict(
            fit_kwargs,
            epochs=self.epochs,
            initial_epoch=self.initial_epoch,
            callbacks=list(fit_kwargs.get("callbacks") or []) + self.callbacks(),
        )


def training_plan(trial, trial_dir, full_epochs):
    """The `TrainingPlan` of a trial, from its `tuner/...` values; None for a plain trial.

    Works for KerasTuner's Hyperband trials too. A trial whose network was not saved
    (its rung ran before saving, a lost file) trains from scratch to its epochs.

    Args:
        trial: A `keras_tuner.engine.trial.Trial`.
        trial_dir: Callable `trial_id -> directory` (a tuner's `get_trial_dir`).
        full_epochs: Epochs of full training: networks trained less are saved.
    """
    values = trial.hyperparameters.values
    if EPOCHS not in values:
        return None
    epochs = int(values[EPOCHS])
    initial_epoch = int(values.get(INITIAL_EPOCH) or 0)
    load_from = None
    if values.get(CONTINUES) is not None and initial_epoch:
        load_from = os.path.join(trial_dir(values[CONTINUES]), CHECKPOINT)
        if not os.path.exists(load_from):
            load_from, initial_epoch = None, 0
    save_to = None
    if full_epochs is not None and epochs < full_epochs:
        save_to = os.path.join(trial_dir(trial.trial_id), CHECKPOINT)
    return TrainingPlan(epochs, initial_epoch, load_from, save_to)


class ScreenedTuner:
    """Mixin giving a KerasTuner / AutoKeras tuner class multi-fidelity screening.

    Place it before the host tuner class. The subclass sets `self.screening` (a
    `Screening` or None) before the host's constructor runs; the search's `epochs` set
    `max_epochs` when the screening has none, and each trial trains to its rung.
    """

    screening = None

    def search(self, *fit_args, **fit_kwargs):
        if self.screening is not None:
            self.screening = self.screening.with_max_epochs(fit_kwargs.get("epochs"))
            if isinstance(self.oracle, ScreeningOracle):
                self.oracle.set_max_epochs(self.screening.max_epochs)
        return super().search(*fit_args, **fit_kwargs)

    def run_trial(self, trial, *args, **kwargs):
        if self.screening is not None:
            plan = training_plan(trial, self.get_trial_dir, self.screening.max_epochs)
            if plan is not None:
                kwargs = plan.fit_kwargs(kwargs)
        return super().run_trial(trial, *args, **kwargs)
