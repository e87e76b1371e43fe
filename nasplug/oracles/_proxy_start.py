"""Scoring candidates with a zero-cost proxy, for the proxy strategy and the warm start.

Kept apart from `base` so that `NASOracle` needs three lines for its `proxy_warm_start`.
An oracle does not hold the hypermodel: its tuner hands it a scorer
(`nasplug.proxies.give_scorer`), read here as `oracle.candidate_scorer`.
"""

import dataclasses
import math

from nasplug import _compat, _convert
from nasplug._names import check_proxy_names

# A candidate the scorer declines (None) does not count; after this many draws per
# wanted candidate (a small space runs out of untried ones) the ones scored are used.
# Draws are cheap next to a build; a scorer of a table that covers part of the space
# declines most of them.
_DRAWS_PER_CANDIDATE = 200
# So many failures in a row before any success mean the scorer itself is broken.
_FAILURES_BEFORE_ERROR = 3


@dataclasses.dataclass(frozen=True)
class ProxyWarmStart:
    """A proxy warm start: the first trials are the best of many proxy-scored candidates.

    Mellor et al. (2021) start regularized evolution from the best of N cells by NASWOT
    ("assisted regularised evolution"); any of nasplug's strategies starts so with
    `proxy_warm_start`.

    Args:
        candidates: Int. Random candidates scored, untrained.
        proxy: A name of `nasplug.proxies.PROXIES`. Defaults to "naswot".
        trials: Int. How many of the best are trained first. None (the default): the
            length of the strategy's random phase (`NASOracle.warm_start_size`: the
            population for evolution).
    """

    candidates: int
    proxy: str = "naswot"
    trials: int = None

    def __post_init__(self):
        for name in ("candidates", "trials"):
            value = getattr(self, name)
            if (value is not None or name == "candidates") and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(
                    f"proxy_warm_start {name} must be a positive integer, got {value!r}."
                )
        check_proxy_names(self.proxy)

    @classmethod
    def of(cls, value):
        """A `ProxyWarmStart` from an int (candidates), a dict of its fields, or None."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = sorted(set(value) - {f.name for f in dataclasses.fields(cls)})
            if unknown:
                raise ValueError(
                    f"proxy_warm_start has no field {unknown[0]!r}; it takes candidates, "
                    "proxy and trials."
                )
            return cls(**value)
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        raise ValueError(
            "proxy_warm_start must be None, a number of candidates, or a dict with "
            f"candidates, proxy and trials; got {value!r}."
        )

    def to_dict(self):
        return dataclasses.asdict(self)


def rank_candidates(oracle, rng, count, proxy):
    """Draws `count` untried random candidates and scores them, best first.

    A candidate the scorer declines (it returns None) or whose scoring raises does not
    count: another is drawn in its place.

    Args:
        oracle: A `NASOracle` holding a `candidate_scorer`.
        rng: The oracle's generator.
        count: Int, candidates wanted.
        proxy: The proxy's name.

    Returns:
        A list of `[values, score]`, highest score first (ties: the earlier drawn);
        candidates whose score is not a finite number come last, with None.

    Raises:
        RuntimeError: If the oracle has no scorer, or the first candidates all fail.
    """
    scorer = getattr(oracle, "candidate_scorer", None)
    if scorer is None:
        raise RuntimeError(
            f"Strategy {oracle.strategy_name!r} scores candidates with a proxy, which needs "
            "a scorer: nasplug's tuners give their oracle one when the search starts, "
            "from the hypermodel and the search's arrays or tf.data.Dataset. With a tuner "
            "of your own, or data given as a generator, call nasplug.proxies.give_scorer("
            "oracle, nasplug.proxies.CandidateScorer(hypermodel, x_batch, y_batch)) first."
        )
    scored, drawn, failures = [], set(), 0
    for _ in range(count * _DRAWS_PER_CANDIDATE):
        if len(scored) >= count:
            break
        values = oracle.space.random_values(rng)
        key = _compat.values_hash(oracle, values)
        if key in drawn or _compat.is_duplicate(oracle, values):
            continue
        drawn.add(key)
        hyperparameters = oracle.hyperparameters.copy()
        hyperparameters.values = dict(values)
        try:
            value = scorer(hyperparameters, proxy)
        except Exception as raised:  # a candidate's network may fail to build in any way
            failures += 1
            if failures >= _FAILURES_BEFORE_ERROR and not scored:
                raise RuntimeError(
                    f"Scoring candidates with the proxy {proxy!r} failed {failures} times in "
                    f"a row; the last error: {type(raised).__name__}: {raised}"
                ) from raised
            continue
        if value is None:
            continue
        failures = 0
        scored.append([_convert.plain(values), _finite_or_none(value)])
    order = sorted(
        range(len(scored)),
        key=lambda i: (scored[i][1] is None, -(scored[i][1] or 0.0), i),
    )
    return [scored[i] for i in order]


def _finite_or_none(value):
    value = float(value)
    if math.isnan(value) or value == -math.inf:
        return None
    return value
