"""The one list of search strategies that every front end reads.

A strategy is one `Strategy` record: its name, where its oracle class lives and what it is.
`make_oracle`, the KerasTuner tuners (`nasplug.tuners`), the AutoKeras tuners, the
estimators' and the command line's `strategy` choices, the benchmark and the report all
read this registry, so a new strategy is one module plus one `register(...)` call.

What a strategy takes is read from its oracle's constructor, never copied: the arguments
every oracle may take (`SHARED_ARGUMENTS`) are passed to it only if it has them (KerasTuner's
Hyperband budgets `max_epochs`, not `max_trials`; its random search takes no `initial_hps`),
and the rest of its signature is the strategy's own arguments and defaults.

Records name their classes as `"module:Class"` strings, loaded on first use, so that the
command line lists the strategies without importing Keras.
"""

import dataclasses
import importlib
import inspect
import sys
import types

# Arguments a front end may hand to any strategy; an oracle gets those its constructor has.
SHARED_ARGUMENTS = (
    "objective",
    "max_trials",
    "max_epochs",
    "seed",
    "hyperparameters",
    "allow_new_entries",
    "tune_new_entries",
    "max_retries_per_trial",
    "max_consecutive_failed_trials",
    "initial_hps",
    "max_choices",
)

# The multi-objective mode and the constraints, which every nasplug oracle takes from
# `NASOracle`; a front end passes them only when they are used, so that a strategy
# without them (KerasTuner's) gets a clear error instead of silently ignoring them.
MULTI_OBJECTIVE_ARGUMENTS = (
    "pareto",
    "max_params",
    "max_latency_ms",
    "constraints",
    "measure",
    "latency_batch_size",
)

# The proxy warm start, which every nasplug oracle takes from `NASOracle`; given by the
# user (`strategy_params`, `--strategy-arg`), never by a front end.
WARM_START_ARGUMENTS = ("proxy_warm_start",)


@dataclasses.dataclass(frozen=True)
class Strategy:
    """What the front ends need to know of one search strategy.

    Attributes:
        name: The name users pass as `strategy=` ("evolution").
        oracle: The `keras_tuner.Oracle` subclass, or `"module:Class"` to load it lazily.
        summary: One line saying what the strategy does, for help texts.
        tuner: Name of its KerasTuner tuner class in `nasplug.tuners` ("EvolutionSearch"),
            for nasplug's own strategies. None: generated as `<Name>Search` on demand.
        autokeras_tuner: Name of its AutoKeras tuner class in `nasplug.autokeras`. None:
            generated as `<Name>Tuner` on demand.
        tabular_benchmark: Whether `nasplug bench` can run it on a table of final
            accuracies (not a strategy that schedules epochs, like Hyperband).
        state_keys: For oracles that do not save their strategy name (KerasTuner's and
            AutoKeras's own): keys of `get_state()` that tell their saved state apart.
        slow: Whether a proposal takes seconds rather than milliseconds (KerasTuner's
            Gaussian process refits its kernel and restarts its acquisition search for
            every trial). `nasplug bench` gives such a strategy's runs one task each and
            starts them first.
        bench_runs: How many runs `nasplug bench` makes of the strategy unless asked
            otherwise, when fewer than its `--runs`; None: `--runs`.
        bench_initial_points: How many random points `nasplug bench` gives the strategy
            as `initial_hps`: AutoKeras's greedy oracle otherwise starts from the space's
            defaults, on NAS-Bench-201 the all-"none" cell, which is not a network.
        global_numpy: Whether the oracle draws from NumPy's global generator (AutoKeras's
            greedy oracle), which `nasplug bench` then seeds for each run, and restores
            after it, so that runs repeat.
        ignores_objective: Whether its proposals do not depend on the trials' scores
            (random search): a multi-objective benchmark runs it, as a baseline, with
            the first objective only.
        published: Published results of the same algorithm on tabular benchmarks, as
            `(table name, algorithm in the paper, mean, std)` of the test accuracy,
            which `nasplug bench` prints beside its own.
        scores_candidates: Whether its proposals score networks built outside any trial
            from the search's Keras hypermodel and data: untrained (zero-cost proxies,
            given a scorer, `nasplug.proxies.give_scorer`) or sharing a supernet's
            weights (`nasplug.oneshot`, given a supernet). nasplug's KerasTuner tuners
            and estimators give them; AutoKeras (which builds a network only inside a
            trial, behind its preprocessing), Ray Tune and Optuna cannot.
    """

    name: str
    oracle: object
    summary: str
    tuner: str = None
    autokeras_tuner: str = None
    tabular_benchmark: bool = True
    state_keys: frozenset = frozenset()
    slow: bool = False
    bench_runs: int = None
    bench_initial_points: int = 0
    global_numpy: bool = False
    ignores_objective: bool = False
    published: tuple = ()
    scores_candidates: bool = False

    def oracle_class(self):
        """The oracle class, imported on first use."""
        if isinstance(self.oracle, str):
            module_name, _, attr = self.oracle.partition(":")
            obj = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
            return obj
        return self.oracle

    @property
    def autokeras(self):
        """Whether the strategy runs inside AutoKeras's tuners."""
        return not self.scores_candidates

    @property
    def is_nasplug(self):
        """Whether the oracle is one of nasplug's (a `NASOracle`), with tuners of ours."""
        cls = self.oracle_class()
        # Not imported: the registry stays below the oracles it names, and a subclass of
        # NASOracle exists only once its module, and so `nasplug.oracles.base`, is loaded.
        base = sys.modules.get("nasplug.oracles.base")
        return base is not None and issubclass(cls, base.NASOracle)

    def parameters(self):
        """Every keyword argument of the oracle's constructor, in order, with its default.

        An oracle whose constructor forwards `**kwargs` to its base class takes the base
        class's arguments too; they are included after its own.

        Returns:
            A list of `inspect.Parameter`.
        """
        return constructor_parameters(self.oracle_class())

    def own_parameters(self):
        """The strategy's own arguments: none of `SHARED_ARGUMENTS`,
        `MULTI_OBJECTIVE_ARGUMENTS` or `WARM_START_ARGUMENTS`."""
        common = SHARED_ARGUMENTS + MULTI_OBJECTIVE_ARGUMENTS + WARM_START_ARGUMENTS
        return [p for p in self.parameters() if p.name not in common]

    @property
    def multi_objective(self):
        """Whether the strategy has the Pareto mode and constraints (`pareto=True`)."""
        return self.accepts("pareto")

    def accepts(self, argument):
        """Whether the oracle's constructor takes `argument`."""
        return any(p.name == argument for p in self.parameters())

    @property
    def budget(self):
        """The argument that bounds the search: "max_trials" or "max_epochs"."""
        return "max_trials" if self.accepts("max_trials") else "max_epochs"

    def published_on(self, table):
        """The published result on a table, `(algorithm, mean, std)`, or None."""
        return next((tuple(p[1:]) for p in self.published if p[0] == table), None)

    @property
    def tuner_name(self):
        """Class name of its KerasTuner tuner in `nasplug.tuners`."""
        return self.tuner or f"{_camel(self.name)}Search"

    @property
    def autokeras_tuner_name(self):
        """Class name of its AutoKeras tuner in `nasplug.autokeras`."""
        return self.autokeras_tuner or f"{_camel(self.name)}Tuner"

    def check_arguments(self, arguments, reserved=(), where="strategy arguments"):
        """Raises one ValueError unless the oracle takes every name in `arguments`.

        Front ends pass a strategy's own arguments through (an estimator's
        `strategy_params`, the command line's `--strategy-arg`); the error names the
        strategy and what it takes, so a misspelt argument is caught before any work.

        Args:
            arguments: A dict (or any iterable) of argument names.
            reserved: Names the front end sets itself (`max_trials`, `seed`, ...), refused
                with a pointer to the front end's own setting.
            where: How the front end calls these arguments, for the message.
        """
        own = ", ".join(p.name for p in self.own_parameters()) or "none"
        for name in arguments:
            if name in reserved:
                raise ValueError(
                    f"{name!r} cannot be given in {where}: it is set by the front end's own "
                    f"{name} setting. Strategy {self.name!r} takes: {own}."
                )
            if not isinstance(name, str) or not self.accepts(name):
                raise ValueError(
                    f"Strategy {self.name!r} has no argument {name!r} (in {where}); its own "
                    f"arguments are: {own}."
                )

    def make(self, **kwargs):
        """Builds the oracle.

        Shared arguments the oracle does not take are dropped; any other argument it
        does not take is an error naming the strategy and what it does take.

        Args:
            **kwargs: Shared arguments and the strategy's own arguments.

        Returns:
            A `keras_tuner.Oracle`.
        """
        kwargs = {k: v for k, v in kwargs.items() if k not in SHARED_ARGUMENTS or self.accepts(k)}
        unknown = [k for k in kwargs if not self.accepts(k)]
        if unknown:
            own = ", ".join(p.name for p in self.own_parameters()) or "none"
            raise ValueError(
                f"Strategy {self.name!r} has no argument {unknown[0]!r}; its own arguments "
                f"are: {own}."
            )
        return self.oracle_class()(**kwargs)


_REGISTRY = {}
# Read-only and live: strategies registered later appear in it.
STRATEGIES = types.MappingProxyType(_REGISTRY)


def register(strategy):
    """Adds a strategy, or replaces the one of the same name.

    Args:
        strategy: A `Strategy`.

    Returns:
        The strategy, so a module can keep the record it registered.
    """
    if not isinstance(strategy, Strategy):
        raise TypeError(f"register() takes a Strategy record, got {type(strategy).__name__}.")
    _REGISTRY[strategy.name] = strategy
    return strategy


def unregister(name):
    """Removes a strategy added with `register` (nothing happens for an unknown name)."""
    _REGISTRY.pop(name, None)


def get(name):
    """The `Strategy` of a name, or a ValueError listing the known names."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown strategy {name!r}. Expected one of: {', '.join(_REGISTRY)}."
        ) from None


def names():
    """The registered strategy names, in registration order."""
    return list(_REGISTRY)


def strategies():
    """The registered `Strategy` records, in registration order."""
    return list(_REGISTRY.values())


def name_of(oracle):
    """The registered name of an oracle's class, or None when it is not registered."""
    cls = type(oracle)
    for strategy in _REGISTRY.values():
        target = strategy.oracle
        if target is cls or target == f"{cls.__module__}:{cls.__qualname__}":
            return strategy.name
    return None


def constructor_parameters(cls):
    """Keyword parameters of `cls.__init__`, following `**kwargs` into its base classes."""
    found = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        forwards = False
        for p in list(inspect.signature(init).parameters.values())[1:]:
            if p.kind is p.VAR_KEYWORD:
                forwards = True
            elif p.kind is not p.VAR_POSITIONAL and p.name not in found:
                found[p.name] = p.replace(kind=p.KEYWORD_ONLY)
        if not forwards:
            break
    return list(found.values())


def _camel(name):
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


# `published`: test accuracies on NAS-Bench-201's CIFAR-10 table (Dong & Yang 2020, Table 5;
# BOHB stands for KerasTuner's Bayesian optimisation, REA is regularized evolution).
for _strategy in (
    Strategy(
        "evolution",
        "nasplug.oracles.evolution:EvolutionOracle",
        "regularized (aging) evolution",
        tuner="EvolutionSearch",
        autokeras_tuner="EvolutionTuner",
        published=(("cifar10", "REA", 93.92, 0.30),),
    ),
    Strategy(
        "reinforce",
        "nasplug.oracles.reinforce:ReinforceOracle",
        "REINFORCE policy-gradient controller",
        tuner="ReinforceSearch",
        autokeras_tuner="ReinforceTuner",
        published=(("cifar10", "REINFORCE", 93.85, 0.37),),
    ),
    Strategy(
        "qlearning",
        "nasplug.oracles.qlearning:QLearningOracle",
        "MetaQNN-style Q-learning",
        tuner="QLearningSearch",
        autokeras_tuner="QLearningTuner",
    ),
    Strategy(
        "predictor",
        "nasplug.oracles.predictor:PredictorEvolutionOracle",
        "regularized evolution with a surrogate ranking the children",
        tuner="PredictorEvolutionSearch",
        autokeras_tuner="PredictorEvolutionTuner",
    ),
    Strategy(
        "proxy",
        "nasplug.oracles.proxy:ProxyOracle",
        "zero-cost proxy search: many candidates scored untrained, the best trained",
        tuner="ProxySearch",
        scores_candidates=True,
        # A table holds no networks to score; its study looks scores up instead
        # (benchmarks/proxies_nasbench201.py).
        tabular_benchmark=False,
    ),
    Strategy(
        "oneshot",
        "nasplug.oneshot._oracle:OneShotOracle",
        "one-shot search on a weight-sharing supernet (SPOS; RSPS with random candidates)",
        tuner="OneShotSearch",
        scores_candidates=True,
        # A table holds no networks to share weights.
        tabular_benchmark=False,
    ),
    Strategy(
        "enas",
        "nasplug.oneshot._oracle:EnasOracle",
        "ENAS: a REINFORCE controller on a weight-sharing supernet",
        tuner="EnasSearch",
        scores_candidates=True,
        # A table holds no networks to share weights.
        tabular_benchmark=False,
    ),
    Strategy(
        "darts",
        "nasplug.oneshot._darts:DartsOracle",
        "gradient-based search on the supernet (DrNAS's Dirichlet relaxation, or DARTS)",
        tuner="DartsSearch",
        scores_candidates=True,
        # A table holds no networks to share weights.
        tabular_benchmark=False,
    ),
    Strategy(
        "random",
        "keras_tuner:oracles.RandomSearchOracle",
        "KerasTuner's random search",
        state_keys=frozenset(),
        ignores_objective=True,
        published=(("cifar10", "random search", 93.70, 0.36),),
    ),
    Strategy(
        "bayesian",
        "keras_tuner:oracles.BayesianOptimizationOracle",
        "KerasTuner's Bayesian optimisation (Gaussian process)",
        state_keys=frozenset({"num_initial_points", "alpha"}),
        slow=True,
        bench_runs=2,
        published=(("cifar10", "BOHB", 93.61, 0.52),),
    ),
    Strategy(
        "hyperband",
        "keras_tuner:oracles.HyperbandOracle",
        "KerasTuner's Hyperband (budgets epochs, not trials)",
        tabular_benchmark=False,
        state_keys=frozenset({"brackets", "min_epochs"}),
    ),
    Strategy(
        "greedy",
        "autokeras.tuners.greedy:GreedyOracle",
        "AutoKeras's greedy search around the best trial",
        state_keys=frozenset({"tried_initial_hps"}),
        bench_initial_points=10,
        global_numpy=True,
    ),
):
    register(_strategy)
del _strategy
