"""The tuners' side of weight-sharing search: building the supernet for the oracle.

`SupernetTuner` is a mixin of nasplug's tuners. When the search starts and its oracle (or
the strategy a screening wraps) trains a supernet (`needs_supernet`), it builds the
`Supernet` of the tuner's hypermodel over the whole search space, with a
`SupernetTrainer` on the search's data, and hands it to the oracle: the oracle never
sees the hypermodel or the data, and the tuner never reaches into the strategy.
"""

import math
import os

from nasplug import _compat, _training
from nasplug import budget as budget_module


class SupernetTuner:
    """Mixin for a KerasTuner tuner: attaches a supernet to an oracle that needs one.

    Place it before the host tuner class.
    """

    def search(self, *fit_args, **fit_kwargs):
        oracle = supernet_oracle(self.oracle)
        if oracle is None:
            return super().search(*fit_args, **fit_kwargs)
        oracle.attach(self.supernet_trainer(oracle, fit_args, fit_kwargs))
        try:
            return super().search(*fit_args, **fit_kwargs)
        finally:
            # The supernet and its traced steps go with the search; a search continued
            # later builds them again and loads the last checkpoint.
            oracle.attach(None)

    def supernet_trainer(self, oracle, fit_args, fit_kwargs):
        """The `SupernetTrainer` of this search (the supernet built, seeded)."""
        from nasplug.oneshot._supernet import Supernet
        from nasplug.oneshot._trainer import SupernetTrainer

        train, validation = search_data(fit_args, fit_kwargs, getattr(self, "folds", None))
        seed = getattr(self, "seed", None)
        seed = oracle.seed if seed is None else seed
        with _training.seeded(seed):
            supernet = Supernet(self.hypermodel, self.oracle.hyperparameters)
        budget = budget_module.of(self.oracle)
        display = _compat.display_of(self.oracle)
        return SupernetTrainer(
            supernet,
            train,
            validation,
            batch_size=fit_kwargs.get("batch_size") or 32,
            epochs=fit_kwargs.get("epochs") or 1,
            directory=os.path.join(self.project_dir, "supernet"),
            time_left=None if budget is None else (lambda: budget.remaining),
            display=display,
        )


def supernet_oracle(oracle):
    """The oracle that trains a supernet: `oracle`, or the strategy it screens; or None."""
    if _compat.is_oracle_client(oracle):
        local = _compat.local_oracle(oracle)
        if getattr(local, "needs_supernet", False) or getattr(
            getattr(local, "strategy", None), "needs_supernet", False
        ):
            raise ValueError(
                "Weight-sharing search trains its supernet in the process that proposes "
                "trials; it does not run as a distributed search. Run it in one process."
            )
        return None
    if getattr(oracle, "needs_supernet", False):
        return oracle
    inner = getattr(oracle, "strategy", None)
    if getattr(inner, "needs_supernet", False):
        return inner
    return None


def search_data(fit_args, fit_kwargs, folds=None):
    """The training and validation parts of a search's data, as `(x, y)` pairs.

    Args:
        fit_args, fit_kwargs: What the search was given (`x`, `y`, `validation_data` or
            `validation_split`, as `keras.Model.fit` takes them).
        folds: Optional list of `(train_rows, validation_rows)` of a cross-validated
            search: the first fold's split is used.

    Returns:
        ((x, y), (x_val, y_val)).
    """
    x = fit_args[0] if fit_args else fit_kwargs.get("x")
    y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    if x is None or y is None or hasattr(x, "element_spec"):
        raise ValueError(
            "Weight-sharing search needs the data as arrays: pass x and y to the search."
        )
    validation = fit_kwargs.get("validation_data")
    if validation is not None:
        return (x, y), (validation[0], validation[1])
    if folds:
        train_rows, validation_rows = folds[0]
        return (_training.rows(x, train_rows), y[train_rows]), (
            _training.rows(x, validation_rows),
            y[validation_rows],
        )
    split = fit_kwargs.get("validation_split")
    if split:
        n = len(y)
        # The last samples, as `keras.Model.fit` takes them.
        cut = n - max(1, int(math.floor(n * split)))
        return (_training.rows(x, slice(0, cut)), y[:cut]), (
            _training.rows(x, slice(cut, n)),
            y[cut:],
        )
    raise ValueError(
        "Weight-sharing search scores candidates on validation data: pass validation_data "
        "or validation_split to the search."
    )
