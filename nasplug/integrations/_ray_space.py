"""Ray Tune's `param_space` as a KerasTuner search space, and trial values as Ray configs.

Each sampled entry of a (nested) `param_space` becomes one hyperparameter named by its
path joined with "/" (Ray's own flattening), so a strategy sees the same decisions a
Ray searcher does:

| Ray                                   | KerasTuner                                      |
| ------------------------------------- | ----------------------------------------------- |
| `choice([...])`                       | `Choice` (over the indices when the values are  |
|                                       | not plain scalars of one type: lists, None, ...) |
| `randint(a, b)`, `lograndint(a, b)`   | `Int(a, b - 1)`, linear or log (Ray excludes b) |
| `qrandint(a, b, q)`                   | `Int` over the multiples of q in [a, b]         |
| `uniform(a, b)`, `loguniform(a, b)`   | `Float(a, b)`, linear or log                    |
| `quniform(a, b, q)`, `qloguniform`    | `Float` over the multiples of q in [a, b]       |

A quantized log range keeps Ray's values but is sampled linearly (KerasTuner's step on a
log range is a factor, not a quantum). `randn`, `sample_from` and `grid_search` have no
counterpart in a strategy's space and are refused with a message saying so.
"""

import math

import keras_tuner
from ray.tune.search import sample
from ray.tune.search.variant_generator import parse_spec_vars
from ray.tune.utils.util import flatten_dict


class RaySpace:
    """The decisions of a Ray `param_space`.

    Args:
        param_space: A dict of Ray domains (`tune.choice`, ...), possibly nested, and
            constants (left to Ray).
    """

    def __init__(self, param_space):
        if not isinstance(param_space, dict):
            raise TypeError(f"param_space must be a dict, got {type(param_space).__name__}.")
        _, domains, grids = parse_spec_vars(param_space)
        if grids:
            raise ValueError(
                f"tune.grid_search at {_name(grids[0][0])!r} cannot be searched by a strategy: "
                "use tune.choice (a strategy chooses among the values)."
            )
        self.hyperparameters = keras_tuner.HyperParameters()
        self._paths = {}
        self._decode = {}
        self._encode = {}
        for path, domain in domains:
            if not all(isinstance(key, str) for key in path):
                raise ValueError(
                    f"A searched value inside a list ({path!r}) is not supported: put it in a dict."
                )
            name = _name(path)
            self._paths[name] = path
            self._add(name, domain)

    @property
    def is_empty(self):
        return not self._paths

    def config(self, values):
        """A trial's values as the config Ray merges into its `param_space`.

        Values of the space's decisions go where their domains were; anything else a
        strategy hands a trial (Hyperband's "tuner/epochs", ...) stays at the top level.
        """
        config = {}
        for name, value in values.items():
            path = self._paths.get(name)
            if path is None:
                config[name] = value
                continue
            level = config
            for key in path[:-1]:
                level = level.setdefault(key, {})
            level[path[-1]] = self._decode[name](value)
        return config

    def values(self, config):
        """The decisions' values in a (possibly partial) Ray config, for warm starts."""
        flat = flatten_dict(config, delimiter="/")
        return {name: self._encode[name](flat[name]) for name in self._paths if name in flat}

    def _add(self, name, domain):
        hp = self.hyperparameters
        if isinstance(domain, sample.Function):
            raise ValueError(
                f"{name!r}: tune.sample_from cannot be searched by a strategy; use "
                "tune.choice, tune.randint, tune.uniform or tune.loguniform."
            )
        sampler = domain.get_sampler()
        q = None
        if isinstance(sampler, sample.Quantized):
            q, sampler = sampler.q, sampler.get_sampler()
        if isinstance(sampler, sample.Normal):
            raise ValueError(
                f"{name!r}: tune.randn / qrandn (a normal distribution) has no bounds for a "
                "strategy to choose within; use tune.uniform or tune.loguniform."
            )
        log = isinstance(sampler, sample.LogUniform)
        if isinstance(domain, sample.Categorical):
            categories = list(domain.categories)
            if _plain(categories):
                hp.Choice(name, categories)
                self._decode[name] = self._encode[name] = _same
            else:
                hp.Choice(name, list(range(len(categories))), ordered=False)
                self._decode[name] = categories.__getitem__
                self._encode[name] = _index_in(name, categories)
            return
        if isinstance(domain, sample.Integer):
            if q is None:
                low, high, step = int(domain.lower), int(domain.upper) - 1, 1
            else:
                low = int(_on_grid(domain.lower, q, math.ceil)) * q
                # Ray's quantized integers exclude the upper bound for q == 1 only.
                if q == 1:
                    high = int(domain.upper) - 1
                else:
                    high = int(_on_grid(domain.upper, q, math.floor)) * q
                step = int(q)
            _check_bounds(name, low, high)
            if low == high:
                hp.Fixed(name, low)
            else:
                if log and q is None:
                    hp.Int(name, low, high, sampling="log")
                else:
                    hp.Int(name, low, high, step=step)
            self._decode[name] = self._encode[name] = int
            return
        if isinstance(domain, sample.Float):
            if q is None:
                low, high = float(domain.lower), float(domain.upper)
                _check_bounds(name, low, high)
                hp.Float(name, low, high, sampling="log" if log else "linear")
                self._decode[name] = self._encode[name] = float
                return
            low = _on_grid(domain.lower, q, math.ceil) * q
            high = _on_grid(domain.upper, q, math.floor) * q
            _check_bounds(name, low, high)
            if math.isclose(low, high):
                hp.Fixed(name, float(low))
            else:
                hp.Float(name, float(low), float(high), step=q)
            self._decode[name] = self._encode[name] = _quantizer(q)
            return
        raise ValueError(f"{name!r}: Ray domain {type(domain).__name__} is not supported.")


def _name(path):
    return "/".join(str(key) for key in path)


def _same(value):
    return value


def _plain(values):
    kinds = {type(v) for v in values}
    return len(kinds) == 1 and kinds <= {int, float, str, bool} and len(set(values)) == len(values)


def _index_in(name, categories):
    def encode(value):
        for index, category in enumerate(categories):
            if category == value:
                return index
        raise ValueError(f"{name!r}: {value!r} is not one of the choices {categories!r}.")

    return encode


def _on_grid(bound, q, rounding):
    """The index of `bound` on the multiples of q, rounded inwards (as Ray does)."""
    scaled = bound / q
    nearest = round(scaled)
    return nearest if math.isclose(scaled, nearest) else rounding(scaled)


def _quantizer(q):
    def quantize(value):
        return float(round(float(value) / q) * q)

    return quantize


def _check_bounds(name, low, high):
    if low > high:
        raise ValueError(f"{name!r}: the range holds no value (from {low} to {high}).")
