"""Every place nasplug reaches into Keras's, KerasTuner's or AutoKeras's internals, and why.

Checked against Keras 3.15, KerasTuner 1.4.8 and AutoKeras 3.0.0 (the versions
`pyproject.toml` pins or installs), and Optuna 5.1 for the `optuna` extra. Everything else
in nasplug uses their public APIs; when a pin moves, this module is the list to check.
"""

import contextlib
import copy
import os
import time

# -- KerasTuner ---------------------------------------------------------------------------

# What `keras_tuner.Oracle.end_trial` raises at `max_consecutive_failed_trials`; in a
# distributed search the same text reaches the worker that ended the last failed trial as
# a gRPC error. KerasTuner gives it no type of its own, only this message.
CONSECUTIVE_FAILURES = "Number of consecutive failures exceeded the limit"


def is_consecutive_failures(error_text):
    """Whether an error (or a line of a process's output) is KerasTuner's failure limit."""
    return CONSECUTIVE_FAILURES in str(error_text)


def expect_workers(oracle, tuner_ids):
    """Makes a distributed chief's oracle wait for the workers `tuner_ids` before it stops.

    KerasTuner's chief (`oracle_chief.start_server`) stops serving once a worker was told
    the search is over and `oracle.tuner_ids`, the workers that asked for a trial and were
    not yet told so, is empty (`Oracle.create_trial` adds a worker there and removes it
    when it answers STOPPED). There is no public way to name workers that have not asked
    yet; a worker added here is told STOPPED when it asks, like any other.
    """
    oracle.tuner_ids.update(tuner_ids)


def serve_oracle(oracle, check=None, poll_seconds=0.2):
    """Serves `oracle` to a distributed search's workers, as KerasTuner's chief does.

    `oracle_chief.start_server` checks whether it may stop only every 20 seconds once
    the first worker was told the search is over, and leaves its gRPC server to the
    garbage collector. This is the same service (KerasTuner's own `OracleServicer`, on
    KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT) checked every `poll_seconds`, its server
    stopped on the way out, even on an error.

    Args:
        oracle: The chief's oracle.
        check: Optional callable run at every check; what it raises ends the serving
            (a launcher's lost worker).
        poll_seconds: Seconds between checks.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    server.add_insecure_port(address)
    with _quiet_condition_protos():
        server.start()
        try:
            while not (servicer.stop_triggered and oracle_chief.exit_chief(oracle)):
                if check is not None:
                    check()
                time.sleep(poll_seconds)
        finally:
            server.stop(grace=None)


@contextlib.contextmanager
def _quiet_condition_protos():
    """KerasTuner 1.4.8's `conditions.Parent.to_proto` prints the condition's first value
    (a leftover debugging line), once per conditional hyperparameter each time a trial is
    sent: in the chief, between its progress lines. Silenced for the block. Only the
    server's one thread runs it meanwhile, and it prints nothing else while it does."""
    import io

    from keras_tuner.src.engine import conditions

    original = conditions.Parent.to_proto

    def to_proto(self):
        with contextlib.redirect_stdout(io.StringIO()):
            return original(self)

    conditions.Parent.to_proto = to_proto
    try:
        yield
    finally:
        conditions.Parent.to_proto = original


def value_count(hp):
    """How many values an `Int` or stepped `Float` takes.

    `HyperParameter` has no public way to list the values of a numerical range;
    `_get_n_values` / `_get_value_by_index` are what its own grid search uses.
    """
    return hp._get_n_values()


def value_at(hp, index):
    """The `index`-th value of an `Int` or stepped `Float` (see `value_count`)."""
    return hp._get_value_by_index(index)


def oracle_file(oracle):
    """Path of an oracle's saved state (`oracle.json`), which nasplug writes atomically."""
    return oracle._get_oracle_fname()


def trial_file(oracle, trial_id):
    """Path of a trial's saved state (`trial.json`) in an oracle's project directory."""
    return os.path.join(oracle._get_trial_dir(trial_id), "trial.json")


def project_dir(oracle):
    """An oracle's project directory (set by its tuner)."""
    return oracle._project_dir


def values_hash(oracle, values):
    """KerasTuner's hash of a set of hyperparameter values, as `Oracle` dedups them."""
    return oracle._compute_values_hash(values)


def is_duplicate(oracle, values):
    """Whether `values` were tried already, by `Oracle`'s own record of tried values."""
    return oracle._duplicate(values)


def max_collisions(oracle):
    """How many duplicate proposals `Oracle` allows before it gives up on a trial."""
    return oracle._max_collisions


def keep_state_in_memory(oracle):
    """Stops an oracle writing its state and trials to a project directory.

    `nasplug.screening.ScreeningOracle` saves the state of the oracle it wraps inside its
    own `oracle.json`, in one atomic write. `Oracle.create_trial` and `end_trial` call
    `save()` and the private `_save_trial()` unconditionally, and there is no public way to
    detach an oracle from storage, so both become no-ops on this one instance.
    """
    oracle.save = _nothing
    oracle._save_trial = _nothing


def _nothing(*args, **kwargs):
    return None


def create_trial_with(oracle, tuner_id, values):
    """`oracle.create_trial(tuner_id)` for a trial whose values were chosen elsewhere.

    The Ray and Optuna integrations (`nasplug.integrations`) record trials proposed by
    another process, or warm-start points, with all of `create_trial`'s bookkeeping
    (trial id, start order, the hash of tried values). `create_trial` takes its values
    only from `populate_space`, so that hook is shadowed on this instance for one call.
    """
    oracle.populate_space = lambda trial_id: {"status": "RUNNING", "values": dict(values)}
    try:
        return oracle.create_trial(tuner_id)
    finally:
        del oracle.populate_space


def requeue_running_trials(oracle):
    """Queues the trials a reloaded oracle holds as running to be run again, in one process.

    `Oracle.create_trial` hands a tuner the trial it holds under the tuner's ID without
    announcing it to the display; trials in the retry queue (`_retry_queue`, no public
    access) are announced. KerasTuner's own oracles queue their running trials on reload;
    nasplug's keep them running for the workers of a distributed search, which outlive a
    restarted chief. A search in one process has no such worker.
    """
    for trial in oracle.ongoing_trials.values():
        if trial.trial_id not in oracle._retry_queue:
            oracle._retry_queue.append(trial.trial_id)
    oracle.ongoing_trials = {}


def multi_objective_class():
    """KerasTuner's class for a list of objectives, `MultiObjective`.

    `keras_tuner` does not export it, but `Oracle` and `Tuner` test for it to check that
    every objective is reported, so nasplug's Pareto objective subclasses it. Imported on
    demand: the command line's help and argument errors load no KerasTuner.
    """
    from keras_tuner.src.engine.objective import MultiObjective

    return MultiObjective


def local_oracle(oracle):
    """The oracle a tuner was built with, also behind a distributed worker's proxy.

    A worker's `OracleClient` forwards only a few attributes (`objective`, ...) to the
    oracle the worker built; nasplug's tuners read its measurement settings from it.
    """
    return oracle._oracle if is_oracle_client(oracle) else oracle


def record_reads(hp, read):
    """Makes `hp` add to the set `read` the name of every value a build is given.

    A hypermodel gets its values through `Choice` / `Int` / `Float` / `Boolean` /
    `Fixed` (each ends in `HyperParameters._retrieve`, with the full scoped name, and
    returns None for an inactive one) or `get`. No public hook sees those calls, so the
    two methods are shadowed on this instance only; `stop_reads` removes them.
    """

    def retrieve(hyperparameter):
        value = type(hp)._retrieve(hp, hyperparameter)
        if value is not None:
            read.add(hyperparameter.name)
        return value

    def get(name):
        value = type(hp).get(hp, name)
        read.add(hp._get_name(name))
        return value

    hp._retrieve = retrieve
    hp.get = get


def stop_reads(hp):
    """Undoes `record_reads(hp, ...)`."""
    for name in ("_retrieve", "get"):
        hp.__dict__.pop(name, None)


@contextlib.contextmanager
def conditions_scope(hp, parents):
    """A conditional scope on several decisions declared side by side.

    `HyperParameters.conditional_scope` looks its parent up among the decisions of the
    scope it opens in, so nested scopes cannot condition a decision on two decisions
    declared at the same level (a convolution of AutoKeras's `ConvBlock` exists when its
    block does and its layer does). This scope adds one condition per parent to the open
    ones, as KerasTuner's does for one, and notes itself active or not for the tuner's
    exploration of the space (`Tuner._activate_all_conditions` opens every scope).

    Args:
        hp: The `keras_tuner.HyperParameters` being built.
        parents: List of (name, values): the scope is active when each named decision,
            declared in the enclosing scope, takes one of its values.
    """
    from keras_tuner.src.engine import conditions

    added = []
    for name, values in parents:
        name = hp._get_name(name)
        if not hp._exists(name):
            raise ValueError(f"`HyperParameter` named: {name} not defined.")
        added.append(conditions.Parent(name, list(values)))
    stack = hp._conditions
    stack.extend(added)
    active = all(condition.is_active(hp.values) for condition in added)
    (hp.active_scopes if active else hp.inactive_scopes).append(copy.deepcopy(stack))
    try:
        yield
    finally:
        del stack[len(stack) - len(added) :]


def parent_condition(name, values):
    """KerasTuner's condition "decision `name` takes one of `values`".

    The Optuna integration learns conditions from trials instead of reading them from a
    hypermodel's `conditional_scope`; `keras_tuner` does not export the condition class.
    """
    from keras_tuner.src.engine import conditions

    return conditions.Parent(name, list(values))


class ExploresEachScopeOnce:
    """Mixin for a KerasTuner tuner: one build per conditional scope to learn the space.

    Before the first trial, `BaseTuner._activate_all_conditions` builds the hypermodel
    until every conditional scope has been active once, so that the oracle knows the whole
    space. It queues a scope again each time a build leaves it inactive and drops one copy
    per build that activates it, so a scope seen inactive k times costs k builds. This
    override queues a scope once and drops it once active, and gives the decisions a build
    does not set their defaults where KerasTuner draws them at random (unseeded), so the
    exploration is the same every time. The estimators' signal space takes 22 builds
    where KerasTuner's took 78 and 88 in two runs (images 18 against 43 and 39, text 23
    against 76 and 106), a quarter of a second each, and comes out with the same decisions
    in the same order as KerasTuner's (tests/sklearn/test_spaces.py), so seeded searches are
    unchanged. Place it before `keras_tuner.Tuner` in the bases.
    """

    def _activate_all_conditions(self):
        queued = []  # Scopes (lists of conditions) not active in any build yet.
        opened, tried = [], []
        hp = self.oracle.get_space()
        while True:
            self.hypermodel.build(hp)
            self.oracle.update_space(hp)
            for scope in hp.active_scopes:
                if scope not in opened:
                    opened.append(copy.deepcopy(scope))
                if scope in queued:
                    queued.remove(scope)
            for scope in hp.inactive_scopes:
                if scope not in opened and scope not in queued and scope not in tried:
                    queued.append(copy.deepcopy(scope))
            # A scope that its own conditions did not open (the hypermodel reaches it
            # through values outside them) is left to the trials, which add the decisions
            # they meet to the space; KerasTuner's loop builds until chance opens it, or
            # forever (tests/sklearn/test_spaces.py).
            if tried and tried[-1] in queued:
                queued.remove(tried[-1])
            if not queued:
                return
            # The next build opens the first scope waiting, every other decision at its
            # default (KerasTuner draws the ones it lacks at random, unseeded).
            tried.append(queued[0])
            hp = self.oracle.get_space()
            for condition in queued[0]:
                hp.values[condition.name] = condition.values[0]
            for decision in hp.space:
                if not hp.is_active(decision):
                    hp.values.pop(decision.name, None)
                elif decision.name not in hp.values:
                    hp.values[decision.name] = decision.default


def is_oracle_client(oracle):
    """Whether `oracle` is a distributed worker's proxy of the chief's oracle.

    KerasTuner swaps a worker's oracle for an `OracleClient` (in its private
    `keras_tuner.src.distribute` package) that forwards every call over gRPC.
    """
    from keras_tuner.src.distribute import oracle_client

    return isinstance(oracle, oracle_client.OracleClient)


def display_of(oracle):
    """The object an oracle reports trial starts and ends to (KerasTuner's `Display`)."""
    return getattr(oracle, "_display", None)


def set_display(oracle, display):
    """Puts `display` in KerasTuner's display's place on an oracle.

    `Oracle` calls `_display.on_trial_begin/on_trial_end` and saves `_display.get_state()`;
    there is no public hook for another display.
    """
    oracle._display = display


# -- AutoKeras ----------------------------------------------------------------------------


def autokeras_tuner_names():
    """AutoKeras's table of `tuner=` strings (`autokeras.auto_model.TUNER_CLASSES`).

    AutoKeras resolves a tuner string through this module-level dict and offers no way to
    register another name.
    """
    from autokeras import auto_model

    return auto_model.TUNER_CLASSES


def autokeras_starting_points():
    """AutoKeras's task-specific first architectures (the lists its Greedy tuners use)."""
    from autokeras.tuners import task_specific

    return (
        task_specific.IMAGE_CLASSIFIER,
        task_specific.TEXT_CLASSIFIER,
        task_specific.STRUCTURED_DATA_CLASSIFIER,
        task_specific.STRUCTURED_DATA_REGRESSOR,
    )


def autokeras_auto_tuner():
    """AutoKeras's `AutoTuner`, the base of every tuner AutoKeras accepts.

    It is not exported by `autokeras`; its tuners (`autokeras.tuners.Greedy`, ...)
    subclass it from `autokeras.engine.tuner`.
    """
    from autokeras.engine import tuner

    return tuner.AutoTuner


def patch_head_shapes():
    """Makes AutoKeras 3.0.0 heads build on Keras 3.13 and later.

    AutoKeras records the input and output shapes of a search as numpy arrays, so the
    width of `ClassificationHead` / `RegressionHead` reaches `keras.layers.Dense` as a
    `numpy.int64`, which Keras 3.13+ refuses ("Received an invalid value for `units`");
    earlier Keras accepts it, and there the cast changes nothing but the type.
    This wraps the place AutoKeras records them (`autokeras.graph.Graph.set_io_shapes`,
    not public) and casts every dimension to a Python `int`. Calling it again does nothing.
    """
    from autokeras import graph

    current = graph.Graph.set_io_shapes
    if getattr(current, "_nasplug_original", None) is not None:
        return

    def set_io_shapes(self, shapes):
        current(self, shapes)
        for node in self.inputs:
            node.shape = _int_shape(node.shape)
        for node in self.outputs:
            head = node.in_blocks[0]
            head.shape = _int_shape(head.shape)

    set_io_shapes.__doc__ = current.__doc__
    set_io_shapes._nasplug_original = current
    graph.Graph.set_io_shapes = set_io_shapes


def unpatch_head_shapes():
    """Restores AutoKeras's own `Graph.set_io_shapes`, undoing `patch_head_shapes()`."""
    from autokeras import graph

    original = getattr(graph.Graph.set_io_shapes, "_nasplug_original", None)
    if original is not None:
        graph.Graph.set_io_shapes = original


def _int_shape(shape):
    if shape is None:
        return None
    return tuple(None if dim is None else int(dim) for dim in shape)


# -- Keras --------------------------------------------------------------------------------


def build_training_state(model, data_batch):
    """Creates a compiled model's optimizer and metric variables before `fit` traces.

    On the TensorFlow backend, Keras's trainer builds them while tracing the first training
    step (it builds them beforehand only under a distribution strategy), and TensorFlow
    traces a function that created variables a second time: every `fit` traces its step
    twice. `Trainer._symbolic_build` is what Keras runs in the other case; run first, the
    step is traced once, about a fifth of a small network's `fit`
    (`benchmarks/perf/trace_once.py`). A no-op on other backends, for a model that runs eagerly
    (nothing is traced) or when it fails: `fit` then builds the state itself, as without
    this call. The estimators call it before `fit`; the KerasTuner tuners
    (`nasplug.tuners`) from KerasTuner's `Tuner._try_build`, given `fit`'s data by
    `Tuner._build_and_fit_model`, both overridden there; the AutoKeras tuners from
    AutoKeras's `AutoTuner.adapt`, given the data by `_prepare_model_build`.

    Args:
        model: A compiled `keras.Model`.
        data_batch: `(x, y)` or `(x, y, sample_weight)`, arrays (or structures of them)
            or a `tf.data` element spec; only shapes and dtypes are read.
    """
    import keras

    build = getattr(model, "_symbolic_build", None)
    if (
        keras.backend.backend() != "tensorflow"
        or build is None
        or model.optimizer is None
        or model.run_eagerly
    ):
        return
    try:
        build(data_batch=tuple(data_batch))
    except Exception:  # noqa: BLE001 -- an optimisation only; `fit` builds the state
        return


@contextlib.contextmanager
def custom_gradients_dropped():
    """Drops the gradient functions that `tf.custom_gradient` registers inside the block.

    Traced into a graph (a `tf.function`), each call of a `tf.custom_gradient` function
    registers its gradient under a new name ("CustomGradient-<uid>") in TensorFlow's
    process-wide gradient registry, `ops._gradient_registry`, and nothing ever removes it.
    The registered function holds the call's tensors, and through them the whole traced
    graph, its branches and captures. Keras's TensorFlow optimizers make such a call in
    every training step they trace (`_all_reduce_sum_gradients`, through the default
    strategy's `ReplicaContext.all_reduce`), so every network trained in a process kept
    its training step's graph alive for good: a few megabytes a network, the growth of a
    long search. A registered gradient is read only while a gradient through its graph
    is being built, which for a training step happens while it is traced, inside the
    block; so the names registered there are dropped when it ends. A no-op where the
    registry is not where TensorFlow 2.21 keeps it, or on other backends.
    """
    registry = _gradient_registry()
    before = set(registry) if registry is not None else None
    try:
        yield
    finally:
        if registry is not None:
            for name in set(registry) - before:
                if name.startswith("CustomGradient-"):
                    registry.pop(name, None)


def _gradient_registry():
    import keras

    if keras.backend.backend() != "tensorflow":
        return None
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def fit_data(args, kwargs):
    """What `build_training_state` takes from `fit`'s arguments, or None.

    Arrays (`x`, `y`, `sample_weight`) or a `tf.data.Dataset`'s element spec; None for
    generators and other inputs, which `fit` handles alone.
    """
    x = args[0] if args else kwargs.get("x")
    if x is None:
        return None
    if hasattr(x, "element_spec"):
        spec = x.element_spec
        return spec if isinstance(spec, tuple) and len(spec) in (2, 3) else None
    y = args[1] if len(args) > 1 else kwargs.get("y")
    if not hasattr(x, "shape") and not isinstance(x, (dict, list, tuple)):
        return None
    return (x, y, kwargs.get("sample_weight"))


# -- Optuna (the `nasplug[optuna]` extra) -------------------------------------------------


def optuna_storage(study):
    """A study's storage, where a sampler writes a trial's system attributes.

    Optuna's own samplers (NSGA-II, ...) write their per-trial state the same way; a
    sampler is handed the study but no public access to its storage.
    """
    return study._storage


def optuna_trial_id(frozen_trial):
    """The storage's id of a trial, which `set_trial_system_attr` takes (not its number)."""
    return frozen_trial._trial_id
