"""Scoring a search's candidates: from hyperparameter values to a proxy's value.

Oracles do not hold the hypermodel, so a strategy that scores candidates
(`ProxyOracle`, any strategy with `proxy_warm_start`) is handed a scorer: a callable
`scorer(hyperparameters, proxy) -> float`. nasplug's tuners (`ScoresCandidates`) give
their oracle a `CandidateScorer` built from their hypermodel and a batch of the data the
search was given, as the search starts; any other callable of that shape serves too
(`nasplug`'s NAS-Bench-201 study looks the scores up in a table).
"""

import time

import keras
import numpy as np

from nasplug import _compat, _training
from nasplug.proxies._measures import check_proxy_names, score

DEFAULT_BATCH_SIZE = 64


class CandidateScorer:
    """Scores candidates by building their untrained networks and computing a proxy.

    Every network is built from the same seed, so a candidate's score does not depend
    on which candidates were scored before it: a resumed search scores as an
    uninterrupted one.

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `hp -> keras.Model`.
        x: A batch of inputs (see `search_batch`).
        y: Its targets, or None (then snip and grad_norm cannot be used).
        seed: Int seeding every build.

    Attributes:
        seconds: Seconds spent building and scoring so far.
        count: Candidates scored so far.
    """

    def __init__(self, hypermodel, x, y=None, seed=0):
        self.hypermodel = hypermodel
        self.x = x
        self.y = y
        self.seed = int(seed or 0)
        self.seconds = 0.0
        self.count = 0

    def __call__(self, hyperparameters, proxy):
        """The proxy's value of the network `hyperparameters` build.

        Args:
            hyperparameters: A `keras_tuner.HyperParameters` holding the candidate's values.
            proxy: A name of `nasplug.proxies.PROXIES`.

        Returns:
            A float.
        """
        (proxy,) = check_proxy_names(proxy)
        start = time.perf_counter()
        build = getattr(self.hypermodel, "build", self.hypermodel)
        with _training.seeded(self.seed):
            model = build(hyperparameters)
            value = score(model, self.x, self.y, proxies=(proxy,))[proxy]
        self.seconds += time.perf_counter() - start
        self.count += 1
        return value


def search_batch(fit_args, fit_kwargs, batch_size=DEFAULT_BATCH_SIZE, seed=0):
    """A batch of the data a search is given, for scoring candidates.

    Args:
        fit_args: The positional arguments of `search` (x, y, ...).
        fit_kwargs: Its keyword arguments.
        batch_size: Rows to take, drawn without replacement (all when fewer).
        seed: Int seeding the draw.

    Returns:
        (x, y), y None when not given; None for data given as a generator or a
        `keras.utils.PyDataset`, which cannot be read without consuming it.
    """
    x = fit_args[0] if fit_args else fit_kwargs.get("x")
    y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    if x is None:
        return None
    if hasattr(x, "element_spec"):
        element = next(iter(x.take(1)))
        if isinstance(element, tuple):
            x, y = element[0], element[1] if len(element) > 1 else None
        else:
            x, y = element, None
        as_numpy = keras.tree.map_structure(keras.ops.convert_to_numpy, (x, y))
        return as_numpy
    leaves = keras.tree.flatten(x)
    if not leaves or not all(hasattr(leaf, "shape") for leaf in leaves):
        return None
    n = len(leaves[0])
    rows = np.sort(np.random.default_rng(seed).permutation(n)[: min(n, batch_size)])
    take = lambda a: None if a is None else np.asarray(a)[rows]  # noqa: E731
    return keras.tree.map_structure(take, x), None if y is None else keras.tree.map_structure(
        take, y
    )


def give_scorer(oracle, scorer):
    """Hands `scorer` to an oracle that scores candidates, and to the oracle it wraps.

    Args:
        oracle: A tuner's oracle (a distributed worker's proxy included).
        scorer: A callable `(hyperparameters, proxy) -> float`.

    Returns:
        Whether an oracle took it.
    """
    taken = False
    oracle = _compat.local_oracle(oracle)
    while oracle is not None and hasattr(oracle, "candidate_scorer"):
        oracle.candidate_scorer = scorer
        taken = True
        # A screening oracle's candidates are its strategy's.
        oracle = getattr(oracle, "strategy", None)
    return taken


class _SearchScorer(CandidateScorer):
    """A `CandidateScorer` that takes its batch from the search's data when first used,
    so that a search that scores nothing reads nothing."""

    def __init__(self, hypermodel, fit_args, fit_kwargs, seed):
        super().__init__(hypermodel, None, None, seed)
        self._data = (fit_args, fit_kwargs)

    def __call__(self, hyperparameters, proxy):
        if self._data is not None:
            batch = search_batch(*self._data, seed=self.seed)
            if batch is None:
                raise ValueError(
                    "A proxy scores candidates on a batch of the search's data, which a "
                    "generator or PyDataset cannot give: pass arrays or a tf.data.Dataset, "
                    "or give the oracle a scorer (nasplug.proxies.give_scorer)."
                )
            (self.x, self.y), self._data = batch, None
        return super().__call__(hyperparameters, proxy)


class ScoresCandidates:
    """Mixin giving a tuner's oracle a `CandidateScorer` as its search starts.

    Place it before the host tuner class. The scorer builds candidates with the
    tuner's hypermodel and scores them on a batch of 64 rows of the search's data (its
    first batch for a `tf.data.Dataset`), seeded with the oracle's seed.
    """

    def search(self, *fit_args, **fit_kwargs):
        oracle = _compat.local_oracle(self.oracle)
        if hasattr(oracle, "candidate_scorer") and self.hypermodel is not None:
            seed = getattr(oracle, "seed", 0) or 0
            give_scorer(oracle, _SearchScorer(self.hypermodel, fit_args, fit_kwargs, seed))
        return super().search(*fit_args, **fit_kwargs)
