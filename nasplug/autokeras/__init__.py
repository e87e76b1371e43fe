"""nasplug's search strategies as AutoKeras tuners, and AutoKeras on today's Keras.

Pass a tuner class to any AutoKeras task or `AutoModel`:

```python
import autokeras as ak
import nasplug.autokeras

clf = ak.ImageClassifier(tuner=nasplug.autokeras.EvolutionTuner, max_trials=10)
```

or register the strategy names once, then use strings:

```python
nasplug.autokeras.enable()
clf = ak.StructuredDataClassifier(tuner="reinforce", max_trials=10)
```

Every nasplug strategy of the registry (`nasplug.oracles.STRATEGIES`) has a tuner here:
`EvolutionTuner`, `ReinforceTuner`, `QLearningTuner`, `PredictorEvolutionTuner`, and
`tuner_class(name)` for one registered later. By default they start from the
architectures AutoKeras's own task tuners try first (its `initial_hps`), then search
with the strategy.

AutoKeras 3.0.0 cannot build a classification or regression model on Keras 3.13 and
later: the output width reaches `keras.layers.Dense` as a `numpy.int64`, which Keras
rejects. `enable()`, and building any tuner of this module, apply a workaround
(`fix_head_shapes()`) that also repairs AutoKeras's own tuners.
"""

from nasplug import _compat
from nasplug.autokeras.starting_points import starting_points
from nasplug.autokeras.tuners import (
    EvolutionTuner,
    PredictorEvolutionTuner,
    QLearningTuner,
    ReinforceTuner,
    StrategyTuner,
    nasplug_tuners,
    tuner_class,
)

__all__ = [
    "EvolutionTuner",
    "PredictorEvolutionTuner",
    "QLearningTuner",
    "ReinforceTuner",
    "StrategyTuner",
    "TUNERS",
    "disable",
    "enable",
    "fix_head_shapes",
    "starting_points",
    "tuner_class",
    "unfix_head_shapes",
]

fix_head_shapes = _compat.patch_head_shapes
unfix_head_shapes = _compat.unpatch_head_shapes


def __getattr__(name):
    if name == "TUNERS":
        # Computed on access, so strategies registered later are in it.
        return nasplug_tuners()
    raise AttributeError(f"module 'nasplug.autokeras' has no attribute {name!r}")


def enable():
    """Lets AutoKeras accept nasplug's strategy names as `tuner=` strings.

    After this call `ak.AutoModel(..., tuner="evolution")` and every task class
    (`ak.ImageClassifier(tuner="reinforce")`, ...) use the tuners of this module, for
    every nasplug strategy registered at the time of the call. It also applies
    `fix_head_shapes()`, so AutoKeras's own tuners work on Keras 3.13+. Nothing is
    registered on import; calling it again does nothing.

    Returns:
        The registered names, a list of strings.

    Raises:
        ValueError: If AutoKeras already gives one of the names to another tuner.
    """
    fix_head_shapes()
    names = _compat.autokeras_tuner_names()
    ours = nasplug_tuners()
    for name, tuner in ours.items():
        existing = names.get(name)
        if existing is not None and not _is_ours(existing):
            raise ValueError(
                f"AutoKeras already has a tuner named {name!r} ({existing.__module__}."
                f"{existing.__qualname__}); nasplug will not replace it. Pass "
                f"tuner=nasplug.autokeras.{tuner.__name__} instead of the string."
            )
    names.update(ours)
    return list(ours)


def disable():
    """Undoes `enable()`: removes nasplug's tuner names and the head fix from AutoKeras."""
    names = _compat.autokeras_tuner_names()
    for name, tuner in list(names.items()):
        if _is_ours(tuner):
            del names[name]
    unfix_head_shapes()


def _is_ours(tuner):
    return isinstance(tuner, type) and issubclass(tuner, StrategyTuner)
