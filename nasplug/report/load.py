"""Reading search directories: KerasTuner, AutoKeras and nasplug projects.

A project is a directory with `oracle.json` and `trial_*/trial.json` files, as KerasTuner
writes them. Besides the oracle's state and the trials, this module reads what the
checkpoints tell of each network: its layers and their sizes, from `checkpoint.weights.h5`
files and `.keras` archives, without loading Keras.
"""

import io
import json
import math
import os
import re
import zipfile

from nasplug import live
from nasplug._convert import trial_key, trial_number
from nasplug.budget import CUT_BY_BUDGET
from nasplug.oracles.pareto import VIOLATION

# How far below the given directory projects are looked for.
_MAX_DEPTH = 4


class Project:
    """One KerasTuner project: its oracle state and its trials.

    Attributes:
        name: The project's directory name (usually the strategy or task).
        path: The project directory.
        state: The parsed `oracle.json`, or `{}` if there is none.
        trials: One dict per trial, in the order the trials ended: `trial_id`,
            `number` (1 for the first trial started, as the progress line numbers
            trials), `position` (in end order), `status`, `score`, `values` (every
            value the oracle gave the trial, as its strategy learned from them),
            `live_values` (those its network was built from, see `nasplug.live`; all
            of `values` when the trial has no such record), `space`, `metrics`,
            `params`, `message`, `dir`, `checkpoint`, `cut_by_budget` (whether a time
            budget stopped its training, `nasplug.budget.CUT_BY_BUDGET`).
        direction: "max" or "min", inferred from the trials' metrics.
        objective: The objective's name, inferred the same way (may be None).
    """

    def __init__(self, name, path, state, trials, direction, objective):
        self.name = name
        self.path = path
        self.state = state
        self.trials = trials
        self.direction = direction
        self.objective = objective

    @property
    def strategy(self):
        """The strategy that ran the search.

        nasplug's oracles save their strategy's name; KerasTuner's and AutoKeras's own
        are told apart by the keys of their state (`registry.Strategy.state_keys`).
        """
        from nasplug.oracles import registry

        saved = self.state.get("strategy")
        if isinstance(saved, str):
            return saved
        keys = set(self.state)
        for strategy in registry.strategies():
            if strategy.state_keys and strategy.state_keys & keys:
                return strategy.name
        return None

    @property
    def scored(self):
        """Completed trials with a finite score, in end order."""
        return [t for t in self.trials if t["status"] == "COMPLETED" and _finite(t["score"])]

    def best(self):
        """The completed trial with the best score, or None when no trial has one.

        In a constrained search, the best among the trials that meet the constraints (or,
        when none does, among those that violate them least), as the oracle ranks them.
        """
        scored = self.scored
        if not scored:
            return None
        violations = [t["metrics_at_best_step"].get(VIOLATION, 0.0) for t in scored]
        least = min(violations)
        scored = [t for t, v in zip(scored, violations) if v == least]
        # Of equal scores, a trial that trained as planned before one a time budget cut.
        if self.direction == "max":
            return max(scored, key=lambda t: (t["score"], not t["cut_by_budget"]))
        return min(scored, key=lambda t: (t["score"], t["cut_by_budget"]))


def load_search(directory):
    """Reads every KerasTuner project found in `directory`.

    Args:
        directory: A project directory (holding `oracle.json` or `trial_*/`) or a directory
            above one or more of them.

    Returns:
        A list of `Project`, sorted by path.

    Raises:
        FileNotFoundError: `directory` does not exist.
        NotADirectoryError: `directory` is a file.
        ValueError: No project is found, or a state file is not valid JSON.
    """
    directory = os.fspath(directory)
    if os.path.isfile(directory):
        raise NotADirectoryError(
            f"{directory} is a file; a report reads a search directory (a KerasTuner, "
            "AutoKeras or nasplug project holding oracle.json and trial_* folders, or a "
            "folder of such projects), e.g. the search/ folder `nasplug search` writes."
        )
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Search directory not found: {directory}")
    roots = _find_projects(directory)
    if not roots:
        raise ValueError(
            f"No KerasTuner search found in {directory}: expected a project directory with "
            "oracle.json or trial_*/trial.json files, or a directory above such projects."
        )
    projects = [_load_project(root) for root in roots]
    # Name projects by their path below `directory`, so that two runs with the same
    # project name in different folders stay apart.
    for project in projects:
        rel = os.path.relpath(project.path, directory)
        project.name = os.path.basename(os.path.abspath(directory)) if rel == "." else rel
    return projects


def _find_projects(directory):
    roots = []
    for root, dirs, files in os.walk(directory):
        depth = os.path.relpath(root, directory).count(os.sep) + (root != directory)
        has_trials = any(
            d.startswith("trial_") and os.path.isfile(os.path.join(root, d, "trial.json"))
            for d in dirs
        )
        if "oracle.json" in files or has_trials:
            roots.append(root)
            dirs[:] = []  # trials live below; nothing else to find there
        elif depth >= _MAX_DEPTH:
            dirs[:] = []
        else:
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
    return sorted(roots)


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); the file is corrupted or truncated."
        ) from None


def _load_project(root):
    oracle_path = os.path.join(root, "oracle.json")
    state = _read_json(oracle_path) if os.path.isfile(oracle_path) else {}
    raw = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name, "trial.json")
        if name.startswith("trial_") and os.path.isfile(path):
            trial = _read_json(path)
            trial_id = str(trial.get("trial_id", name[len("trial_") :]))
            raw[trial_id] = (trial, os.path.join(root, name))
    direction, objective = _infer_objective(t for t, _ in raw.values())
    if state.get("pareto") and state.get("objectives"):
        # A Pareto search scores each trial by its first objective, whose value other
        # metrics may share (the estimators' "score", of unknown direction to KerasTuner).
        first = state["objectives"][0]
        direction, objective = first["direction"], first["name"]
    order = [i for i in state.get("end_order", []) if i in raw]
    order += sorted((i for i in raw if i not in order), key=trial_key)
    trials = []
    start_order = state.get("start_order") or sorted(raw, key=trial_key)
    for position, trial_id in enumerate(order, start=1):
        trial, trial_dir = raw[trial_id]
        record = _trial_record(trial_id, position, trial, trial_dir)
        # The number the progress line and the estimators' `search_results_` show.
        record["number"] = trial_number(trial_id, start_order) or position
        trials.append(record)
    return Project(os.path.basename(root), root, state, trials, direction, objective)


def _trial_record(trial_id, position, trial, trial_dir):
    metrics = (trial.get("metrics") or {}).get("metrics") or {}
    best_metrics, at_best_step = {}, {}
    for name, metric in metrics.items():
        observations = [
            (obs.get("step"), v)
            for obs in metric.get("observations", [])
            for v in obs.get("value", [])
            if _finite(v)
        ]
        if observations:
            # What a multi-objective search ranked a trial by: every metric at the step
            # its first objective was best (the trial's best step), else the last value.
            at_step = [v for step, v in observations if step == trial.get("best_step")]
            at_best_step[name] = at_step[-1] if at_step else observations[-1][1]
        values = [
            v for obs in metric.get("observations", []) for v in obs.get("value", []) if _finite(v)
        ]
        if values:
            pick = max if metric.get("direction") == "max" else min
            best_metrics[name] = pick(values)
    params = next(
        (int(v) for k, v in best_metrics.items() if "param" in k.lower() and v >= 0), None
    )
    layers = None
    checkpoint = os.path.join(trial_dir, "checkpoint.weights.h5")
    if params is None and os.path.isfile(checkpoint):
        layers = weights_layers(checkpoint)
        if layers is not None:
            params = sum(count for _, _, count in layers)
    hp = trial.get("hyperparameters") or {}
    values = dict(hp.get("values") or {})
    score = trial.get("score")
    return {
        "trial_id": trial_id,
        "position": position,
        "status": trial.get("status") or "UNKNOWN",
        "score": float(score) if _finite(score) else None,
        "values": values,
        "live_values": live.live_values(values, live.read(trial_dir)),
        "space": hp.get("space") or [],
        "metrics": best_metrics,
        "metrics_at_best_step": at_best_step,
        "params": params,
        "message": trial.get("message"),
        "dir": trial_dir,
        "checkpoint": checkpoint if os.path.isfile(checkpoint) else None,
        "cut_by_budget": bool(best_metrics.get(CUT_BY_BUDGET)),
    }


def _infer_objective(trials):
    """Finds the objective by matching each trial's score to one of its metrics."""
    votes = {}
    for trial in trials:
        score = trial.get("score")
        metrics = (trial.get("metrics") or {}).get("metrics") or {}
        if not _finite(score):
            continue
        for name, metric in metrics.items():
            values = [v for obs in metric.get("observations", []) for v in obs.get("value", [])]
            if any(
                _finite(v) and math.isclose(v, score, rel_tol=1e-9, abs_tol=1e-12) for v in values
            ):
                key = (name, metric.get("direction") or "max")
                votes[key] = votes.get(key, 0) + 1
    if not votes:
        return "max", None
    # Ties between e.g. "accuracy" and "val_accuracy" go to the validation metric,
    # which is what searches are normally scored on.
    (name, direction), _ = max(votes.items(), key=lambda kv: (kv[1], kv[0][0].startswith("val_")))
    return direction, name


def weights_layers(path):
    """Lists the layers stored in a Keras weights file (`*.weights.h5`).

    Args:
        path: The file's path, or a file-like object holding it.

    Returns:
        One (layer path, weight shapes, parameter count) per layer with weights, or None
        if the file is not a readable Keras weights file.
    """
    try:
        import h5py
    except ImportError:
        return None
    layers = {}
    try:
        with h5py.File(path, "r") as f:  # a path or a file-like object
            if "layers" not in f:
                return None

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    layer = name.rsplit("/vars/", 1)[0]
                    shapes, count = layers.get(layer, ([], 0))
                    layers[layer] = (shapes + [tuple(obj.shape)], count + math.prod(obj.shape))

            f["layers"].visititems(visit)
    except OSError:
        return None
    return [(name, shapes, count) for name, (shapes, count) in layers.items()]


def saved_models(directory):
    """Paths of the `.keras` archives in `directory` or one level below, trial folders aside."""
    found = []
    for root, dirs, files in os.walk(directory):
        depth = os.path.relpath(root, directory).count(os.sep) + (root != directory)
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".keras")]
        dirs[:] = [] if depth >= 1 else sorted(d for d in dirs if not d.startswith("trial_"))
    return found


def models_of_projects(projects, directory, model=None):
    """Which saved model belongs to which project.

    A model belongs to the one project found in its own folder or below it: the
    AutoKeras layout (`best_model.keras` inside the project) and `nasplug search`'s
    (`OUTPUT/model.keras` beside `OUTPUT/search/...`). With a single project every model
    is its; a model above several projects belongs to none of them.

    Args:
        projects: The `Project`s of the report.
        directory: The report's directory, searched for `.keras` files (`saved_models`).
        model: Optional path of a model given by the user, placed by the same rule.

    Returns:
        (dict project path -> list of model paths, list of the models of no one project).
    """
    paths = saved_models(directory)
    if model is not None and os.path.abspath(model) not in map(os.path.abspath, paths):
        paths.insert(0, os.fspath(model))
    owned = {project.path: [] for project in projects}
    unowned = []
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        owners = [
            p
            for p in projects
            if os.path.abspath(p.path) == folder
            or os.path.abspath(p.path).startswith(folder + os.sep)
        ]
        if len(owners) == 1:
            owned[owners[0].path].append(path)
        elif len(projects) == 1:
            owned[projects[0].path].append(path)
        else:
            unowned.append(path)
    return owned, unowned


def model_description(model_path):
    """What `nasplug search` wrote about a saved model, in the `.json` file beside it.

    Args:
        model_path: The `.keras` file's path.

    Returns:
        The description (`task`, `validation`: what the search's score is, `test_score`,
        `test_metric`, `test_rows`, `ensemble_size`, ...), or None when there is no
        such file or it is not one.
    """
    path = os.path.splitext(os.fspath(model_path))[0] + ".json"
    try:
        with open(path, encoding="utf-8") as f:
            found = json.load(f)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and "task" in found and "table" in found else None


def keras_archive_layers(path):
    """Reads a `.keras` archive's layers (and their sizes) without loading Keras.

    Args:
        path: The archive's path.

    Returns:
        Rows (layer, type, settings, parameters), or None if the file is not readable;
        see `read_keras_archive` for how inputs and ensembles are shown.
    """
    archive = read_keras_archive(path)
    return None if archive is None else archive["layers"]


def read_keras_archive(path):
    """A `.keras` archive's layers, parameter counts and ensembles, without loading Keras.

    Nested models are listed layer by layer under their path ("ensemble/member_0/dense").
    Models of one architecture side by side in a model (the networks an ensemble
    averages) are listed once, the first of them, with how many there are; the model's
    inputs are one row.

    Args:
        path: The archive's path.

    Returns:
        None if the file is not readable; else a dict: `layers` (rows: layer, type,
        settings, parameters as text), `parameters` (the model's total, weights read
        from the archive), `inputs` (how many inputs the model takes) and `ensembles`
        (one dict per group of networks of one architecture shown once: `path` of the
        container, `shown` (the name of the one listed), `members` (all their names),
        `parameters` (one network's)).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = (
                archive.read("model.weights.h5")
                if "model.weights.h5" in archive.namelist()
                else None
            )
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    sizes = {}
    if weights is not None:
        for name, _, count in weights_layers(io.BytesIO(weights)) or []:
            sizes[name] = count
    found = {"layers": [], "inputs": 0, "ensembles": []}
    inner = config.get("config", {}) if isinstance(config, dict) else {}
    if isinstance(inner, dict) and inner.get("layers"):
        total = _walk_container(inner["layers"], "", "", sizes, found)
    else:
        total = _layer_row(config, "", "", sizes, found)
    found["parameters"] = total
    if found["inputs"]:
        found["layers"].insert(0, ("(inputs)", "InputLayer", f"{found['inputs']} input(s)", ""))
    return found


def _walk_container(layers, prefix, weights_prefix, sizes, found):
    """Lists a container's layers into `found`; returns their parameter count.

    Keras stores a model's layers' weights under their class name in snake case,
    numbered in order within each model ("dense", "dense_1", ...), whatever name the
    layer was given; nested models' layers sit under "NAME/layers/".
    """
    seen = {}
    keys = []
    for layer in layers:
        class_name = layer.get("class_name", "")
        snake = re.sub(r"(?<!^)(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()
        n = seen.get(snake, 0)
        seen[snake] = n + 1
        keys.append(f"{weights_prefix}{snake if n == 0 else f'{snake}_{n}'}")
    # Nested models with the same layers (an ensemble's networks): listed once.
    groups = {}
    for layer, key in zip(layers, keys):
        if _is_container(layer):
            groups.setdefault(_architecture(layer), []).append((layer, key))
    total = 0
    for layer, key in zip(layers, keys):
        name = layer.get("config", {}).get("name", "")
        if not _is_container(layer):
            total += _layer_row(layer, prefix, key, sizes, found)
            continue
        group = groups[_architecture(layer)]
        if group[0][0] is not layer:
            total += _container_size(key, sizes)
            continue
        size = _walk_container(
            layer["config"]["layers"], f"{prefix}{name}/", f"{key}/layers/", sizes, found
        )
        total += size
        if len(group) > 1:
            found["ensembles"].append(
                {
                    "path": prefix.rstrip("/"),
                    "shown": name,
                    "members": [m.get("config", {}).get("name", "") for m, _ in group],
                    "parameters": size,
                }
            )
    return total


def _layer_row(layer, prefix, key, sizes, found):
    inner = layer.get("config", {})
    if not isinstance(inner, dict):
        return 0
    if layer.get("class_name") == "InputLayer":
        # A nested model's inputs are the outputs of the layers before it.
        found["inputs"] += not prefix
        return 0
    details = []
    for setting in ("units", "filters", "kernel_size", "rate", "activation", "pool_size"):
        if inner.get(setting) not in (None, "linear"):
            details.append(f"{setting}={inner[setting]}")
    count = _container_size(key, sizes)
    found["layers"].append(
        (
            f"{prefix}{inner.get('name', '')}",
            layer.get("class_name", "?"),
            ", ".join(details),
            f"{count:,}" if count else "",
        )
    )
    return count


def _container_size(key, sizes):
    """Parameters stored under `key` (a layer, or a nested model), optimizers aside."""
    return sum(
        count
        for name, count in sizes.items()
        if (name == key or name.startswith(key + "/")) and "/optimizer" not in name[len(key) :]
    )


def _is_container(layer):
    inner = layer.get("config")
    return isinstance(inner, dict) and bool(inner.get("layers"))


# Config keys that differ between copies of one architecture: names and the graph's
# wiring by name, seeds, and the ids Keras gives shared objects when it saves them.
_NOT_ARCHITECTURE = frozenset(
    ("name", "inbound_nodes", "input_layers", "output_layers", "seed", "shared_object_id")
)


def _architecture(layer):
    """What makes two nested models the same architecture: their layers' types and
    settings, names aside."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in _NOT_ARCHITECTURE}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(layer.get("config", {}).get("layers", [])), sort_keys=True)


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
