"""Weight-sharing and gradient-based architecture search on a supernet.

A search space built from nasplug blocks (`CellBlock`, `DenseBlock`, a choice of families
among them) is built once as a supernet: one Keras network in which every decision's
options exist side by side and any architecture of the space runs with the shared weights
(`Supernet`). Strategies search on it instead of training every candidate:

- "oneshot" (`OneShotOracle`): single-path one-shot search; candidates proposed by one of
  our strategies ("evolution": SPOS, "random": RSPS, ...) and scored with the shared
  weights in a fraction of a training;
- "enas" (`EnasOracle`): a REINFORCE controller whose samples train the shared weights;
- "darts" (`DartsOracle`): gradient-based search with beta-decay regularisation against
  the collapse to parameter-free operations.

The best candidates become ordinary trials, trained and scored by the normal pipeline, so
the result is a stand-alone network. Each is a registered strategy:
`NASClassifier(strategy="oneshot", strategy_params={"candidate_strategy": "random"})`,
`nasplug search --strategy darts`, `nasplug.tuners.tuner_class("enas")`. The tuner builds
the supernet and hands the strategy a `SupernetTrainer` that trains and scores on the
search's data (`SupernetTuner`); the supernet's variables are saved in the search's
directory (`supernet/`) after each phase, so a resumed search continues exactly.
"""

import importlib

_NAMES = {
    "Supernet": "nasplug.oneshot._supernet",
    "SupernetTrainer": "nasplug.oneshot._trainer",
    "SupernetOracle": "nasplug.oneshot._oracle",
    "OneShotOracle": "nasplug.oneshot._oracle",
    "EnasOracle": "nasplug.oneshot._oracle",
    "DartsOracle": "nasplug.oneshot._darts",
    "SupernetTuner": "nasplug.oneshot._tuner",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'nasplug.oneshot' has no attribute {name!r}")
