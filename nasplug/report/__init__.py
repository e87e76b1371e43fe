"""An HTML report that explains a search: `nasplug report DIR` and `write_report(DIR)`.

Works on any KerasTuner search directory (a project with `oracle.json` and
`trial_*/trial.json`, as written by KerasTuner, AutoKeras and nasplug), or on a directory
holding several of them (one per strategy, say). The page is one self-contained HTML file
with PNG plots embedded, so it can be mailed or attached to an issue:

- score by trial and best score so far, one colour per project (strategy);
- score against model size (parameters) with the Pareto front marked;
- which decisions mattered: each hyperparameter's share of the score's variance, from a
  random forest fitted on the trial table (a fANOVA-style main-effect analysis);
- for the reinforcement-learning strategies, the controller's preferences: how the
  REINFORCE policy moved trial after trial, and the Q-learning agent's values;
- the best architecture: its hyperparameters and its layers.

Model sizes are read from the weights KerasTuner checkpoints for every trial (or from a
metric whose name contains "param", if the search recorded one).
"""

import base64
import html
import io
import json
import math
import os
import re
import zipfile
from datetime import datetime

import numpy as np

_MAX_DEPTH = 4
# Values of one hyperparameter the importance analysis tries at most.
_MAX_GRID = 20
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]


# -- reading a search directory ---------------------------------------------------------


class Project:
    """One KerasTuner project: its oracle state and its trials.

    Attributes:
        name: The project's directory name (usually the strategy or task).
        path: The project directory.
        state: The parsed `oracle.json`, or `{}` if there is none.
        trials: One dict per trial, in the order the trials ended.
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
        scored = self.scored
        if not scored:
            return None
        pick = max if self.direction == "max" else min
        return pick(scored, key=lambda t: t["score"])


def load_search(directory):
    """Reads every KerasTuner project found in `directory`.

    Args:
        directory: A project directory (holding `oracle.json` or `trial_*/`) or a directory
            above one or more of them.

    Returns:
        A list of `Project`, sorted by path.

    Raises:
        FileNotFoundError: `directory` does not exist.
        ValueError: No project is found, or a state file is not valid JSON.
    """
    directory = os.fspath(directory)
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
        raise ValueError(f"{path} is not valid JSON ({error}); the file is corrupted or truncated.") from None


def _load_project(root):
    oracle_path = os.path.join(root, "oracle.json")
    state = _read_json(oracle_path) if os.path.isfile(oracle_path) else {}
    raw = {}
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name, "trial.json")
        if name.startswith("trial_") and os.path.isfile(path):
            trial = _read_json(path)
            raw[str(trial.get("trial_id", name[len("trial_"):]))] = (trial, os.path.join(root, name))
    direction, objective = _infer_objective(t for t, _ in raw.values())
    order = [i for i in state.get("end_order", []) if i in raw]
    order += sorted((i for i in raw if i not in order), key=_id_key)
    trials = []
    for position, trial_id in enumerate(order, start=1):
        trial, trial_dir = raw[trial_id]
        trials.append(_trial_record(trial_id, position, trial, trial_dir))
    return Project(os.path.basename(root), root, state, trials, direction, objective)


def _id_key(trial_id):
    return (0, int(trial_id), "") if str(trial_id).isdigit() else (1, 0, str(trial_id))


def _trial_record(trial_id, position, trial, trial_dir):
    metrics = (trial.get("metrics") or {}).get("metrics") or {}
    best_metrics = {}
    for name, metric in metrics.items():
        values = [
            v for obs in metric.get("observations", []) for v in obs.get("value", [])
            if _finite(v)
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
        layers = _weights_layers(checkpoint)
        if layers is not None:
            params = sum(count for _, _, count in layers)
    hp = trial.get("hyperparameters") or {}
    score = trial.get("score")
    return {
        "trial_id": trial_id,
        "position": position,
        "status": trial.get("status") or "UNKNOWN",
        "score": float(score) if _finite(score) else None,
        "values": dict(hp.get("values") or {}),
        "space": hp.get("space") or [],
        "metrics": best_metrics,
        "params": params,
        "message": trial.get("message"),
        "dir": trial_dir,
        "checkpoint": checkpoint if os.path.isfile(checkpoint) else None,
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
            if any(_finite(v) and math.isclose(v, score, rel_tol=1e-9, abs_tol=1e-12) for v in values):
                key = (name, metric.get("direction") or "max")
                votes[key] = votes.get(key, 0) + 1
    if not votes:
        return "max", None
    # Ties between e.g. "accuracy" and "val_accuracy" go to the validation metric,
    # which is what searches are normally scored on.
    (name, direction), _ = max(votes.items(), key=lambda kv: (kv[1], kv[0][0].startswith("val_")))
    return direction, name


def _weights_layers(path):
    """Lists (layer path, weight shapes, parameter count) stored in a Keras weights file."""
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
                    layers[layer] = (shapes + [tuple(obj.shape)], count + int(np.prod(obj.shape)))

            f["layers"].visititems(visit)
    except OSError:
        return None
    return [(name, shapes, count) for name, (shapes, count) in layers.items()]


def _saved_models(directory):
    """Finds `.keras` archives in or just below `directory`."""
    found = []
    for root, dirs, files in os.walk(directory):
        depth = os.path.relpath(root, directory).count(os.sep) + (root != directory)
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".keras")]
        dirs[:] = [] if depth >= 1 else sorted(d for d in dirs if not d.startswith("trial_"))
    return found


def _keras_archive_layers(path):
    """Reads a `.keras` archive's layers (and their sizes) without loading Keras.

    Returns:
        Rows (layer, type, settings, parameters), or None if the file is not readable.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5") if "model.weights.h5" in archive.namelist() else None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    sizes = {}
    if weights is not None:
        for name, _, count in _weights_layers(io.BytesIO(weights)) or []:
            sizes[name] = count
    # Keras stores a model's layers under their class name in snake case, numbered in
    # order ("dense", "dense_1", ...), whatever name the layer was given.
    seen = {}

    def weights_key(class_name):
        snake = re.sub(r"(?<!^)(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", class_name).lower()
        n = seen.get(snake, 0)
        seen[snake] = n + 1
        return snake if n == 0 else f"{snake}_{n}"

    rows = []

    def walk(layer_config, prefix):
        inner = layer_config.get("config", {})
        if not isinstance(inner, dict):
            return
        name = inner.get("name", "")
        if inner.get("layers") and layer_config is not config:
            for sub in inner["layers"]:
                walk(sub, f"{prefix}{name}/")
            return
        if inner.get("layers"):
            for sub in inner["layers"]:
                walk(sub, prefix)
            return
        details = []
        for key in ("units", "filters", "kernel_size", "rate", "activation", "pool_size"):
            if inner.get(key) not in (None, "linear"):
                details.append(f"{key}={inner[key]}")
        count = sizes.get(weights_key(layer_config.get("class_name", ""))) if not prefix else None
        rows.append((f"{prefix}{name}", layer_config.get("class_name", "?"), ", ".join(details),
                     f"{count:,}" if count else ""))

    walk(config, "")
    return rows


# -- analysis ---------------------------------------------------------------------------


def trial_table(projects):
    """One row per scored trial across projects, for the importance analysis.

    Returns:
        (feature names, list of value dicts, scores as maximised rewards, project names).
    """
    names, rows, rewards, owners = [], [], [], []
    for project in projects:
        sign = 1.0 if project.direction == "max" else -1.0
        for trial in project.scored:
            values = {k: v for k, v in trial["values"].items() if not k.startswith("tuner/")}
            for k in values:
                if k not in names:
                    names.append(k)
            rows.append(values)
            rewards.append(sign * trial["score"])
            owners.append(project.name)
    return names, rows, np.asarray(rewards, dtype=float), owners


def hyperparameter_importance(names, rows, scores, seed=0):
    """Each hyperparameter's share of the score's variance (random-forest main effects).

    A random forest is fitted on the trial table. For each hyperparameter, its value is set
    in turn to every value it took in the trials, for all trials at once, and the forest's
    mean prediction is recorded: the variance of those means over the hyperparameter's
    values, as a share of the variance of the forest's predictions, is its importance. This
    is the main-effect part of a functional ANOVA (fANOVA) on the forest.

    Args:
        names: Hyperparameter names (the columns).
        rows: One dict of values per trial; a missing key is an inactive (conditional)
            hyperparameter.
        scores: The trials' scores.
        seed: Seed of the forest.

    Returns:
        (dict name -> importance in [0, 1], out-of-bag R² of the forest or None), or
        (None, reason) when there is too little to learn from.
    """
    from sklearn.ensemble import RandomForestRegressor

    scores = np.asarray(scores, dtype=float)
    if len(rows) < 4:
        return None, f"only {len(rows)} scored trials; at least 4 are needed."
    if np.ptp(scores) == 0:
        return None, "every trial has the same score."
    varying = [n for n in names if len({_hashable(r.get(n)) for r in rows}) > 1]
    if not varying:
        return None, "no hyperparameter took more than one value."
    columns = [_encode_column([r.get(n) for r in rows]) for n in varying]
    x = np.column_stack([c for c, _ in columns])
    forest = RandomForestRegressor(
        n_estimators=200, min_samples_leaf=1, oob_score=len(rows) >= 8, random_state=seed
    )
    forest.fit(x, scores)
    total = float(np.var(forest.predict(x)))
    importance = {}
    for j, name in enumerate(varying):
        grid, counts = np.unique(x[:, j], return_counts=True)
        if len(grid) > _MAX_GRID:
            # A continuous hyperparameter: its quantiles stand for its values, equally likely.
            grid = np.quantile(x[:, j], np.linspace(0, 1, _MAX_GRID))
            counts = np.ones(len(grid))
        means = []
        for value in grid:
            x_fixed = x.copy()
            x_fixed[:, j] = value
            means.append(float(forest.predict(x_fixed).mean()))
        means = np.asarray(means)
        weights = counts / counts.sum()
        centre = float(np.sum(weights * means))
        variance = float(np.sum(weights * (means - centre) ** 2))
        importance[name] = min(1.0, variance / total) if total > 0 else 0.0
    for name in names:
        importance.setdefault(name, 0.0)
    oob = float(forest.oob_score_) if len(rows) >= 8 else None
    return importance, oob


def _encode_column(values):
    """Encodes one hyperparameter column as numbers; inactive values get their own code."""
    present = [v for v in values if v is not None]
    numeric = present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
    if numeric:
        low, high = min(present), max(present)
        inactive = low - (high - low + 1.0)  # below every real value, so a split isolates it
        return np.asarray([inactive if v is None else float(v) for v in values]), None
    categories = sorted({_hashable(v) for v in values}, key=str)
    codes = {c: i for i, c in enumerate(categories)}
    return np.asarray([codes[_hashable(v)] for v in values], dtype=float), categories


def _hashable(value):
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def pareto_front(points, direction="max"):
    """Indices of the points no other point beats on both size and score.

    Args:
        points: (parameters, score) pairs; fewer parameters are better.
        direction: Whether a higher ("max") or lower ("min") score is better.

    Returns:
        The indices of the front, by increasing size.
    """
    sign = 1.0 if direction == "max" else -1.0
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -sign * points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if sign * points[i][1] > best:
            front.append(i)
            best = sign * points[i][1]
    return front


def controller_preferences(project):
    """The RL controller's final preferences over each decision's choices.

    Args:
        project: A `Project` whose oracle state holds REINFORCE `logits` or a Q-learning
            `q_values` table.

    Returns:
        A dict decision -> (choice labels, preference values, kind), with kind
        "probability" (REINFORCE softmax) or "mean Q" (Q-learning, averaged over the
        states an action was taken from), or {} for other strategies.
    """
    state = project.state
    grids = _choice_grids(state)
    prefs = {}
    if isinstance(state.get("logits"), dict):
        for name, logits in state["logits"].items():
            logits = np.asarray(logits, dtype=float)
            if logits.size < 2:
                continue
            p = np.exp(logits - logits.max())
            prefs[name] = (_labels(grids.get(name), logits.size), p / p.sum(), "probability")
    elif isinstance(state.get("q_values"), dict):
        sums = {}
        for actions in state["q_values"].values():
            for action, q in actions.items():
                name, _, index = action.rpartition("=")
                if index.isdigit():
                    sums.setdefault(name, {}).setdefault(int(index), []).append(float(q))
        initial = float(state.get("initial_q", 0.5))
        for name, by_index in sums.items():
            size = len(grids[name]) if name in grids else max(by_index) + 1
            if size < 2:
                continue
            values = np.asarray([np.mean(by_index.get(i, [initial])) for i in range(size)])
            prefs[name] = (_labels(grids.get(name), size), values, "mean Q")
    # In the order the decisions are taken (the space's order), unknown ones last.
    order = {name: i for i, name in enumerate(grids)}
    return dict(sorted(prefs.items(), key=lambda item: order.get(item[0], len(order))))


def replay_controller(project):
    """Replays the REINFORCE controller's learning on the trials, in the order it learned.

    A fresh `ReinforceOracle` with the saved settings observes the completed trials one by
    one, exactly as the search did (the update is deterministic), and its probabilities
    are recorded after each.

    Args:
        project: A `Project` whose oracle state holds REINFORCE `logits`.

    Returns:
        (history, exact) where history maps decision -> (choice labels, array of shape
        (observed trials + 1, choices)), and exact says whether the replay ends at the
        saved logits. ({}, False) when it cannot be replayed.
    """
    state = project.state
    if not isinstance(state.get("logits"), dict) or not state.get("hyperparameters"):
        return {}, False
    try:
        import keras_tuner
        from keras_tuner.engine.trial import Trial

        from nasplug.oracles import get_oracle_class

        from nasplug.space import SearchSpace

        final_space = SearchSpace(
            keras_tuner.HyperParameters.from_config(state["hyperparameters"]),
            state.get("max_choices", 10),
        )
        oracle = get_oracle_class("reinforce")(
            objective=keras_tuner.Objective(project.objective or "score", project.direction),
            learning_rate=state["learning_rate"],
            baseline_decay=state["baseline_decay"],
            entropy_weight=state["entropy_weight"],
            max_choices=final_space.max_choices,
            max_trials=None,
        )
    except Exception:  # not our oracle's state after all, or an older format
        return {}, False
    decisions = [hp for hp in final_space.decisions if len(final_space.choices(hp)) > 1]
    snapshots = [{hp.name: oracle.probabilities(hp) for hp in decisions}]
    observed = set(state.get("end_order", [])[: state.get("observed", len(project.trials))])
    for record in project.scored:
        if record["trial_id"] not in observed:
            continue
        # The space grows as the hypermodel registers new hyperparameters; the controller
        # learned each trial with the space known when it ended, which that trial saved.
        oracle.update_space(
            keras_tuner.HyperParameters.from_config({"space": record["space"], "values": {}})
        )
        values = oracle.hyperparameters.copy()
        values.values = dict(record["values"])
        trial = Trial(values, trial_id=record["trial_id"], status="COMPLETED")
        trial.score = record["score"]
        oracle.observe(trial)
        snapshots.append({hp.name: oracle.probabilities(hp) for hp in decisions})
    history = {
        hp.name: (
            [_short(v) for v in final_space.choices(hp)],
            np.asarray([snap[hp.name] for snap in snapshots]),
        )
        for hp in decisions
    }
    saved = state["logits"]
    # Logits the controller never moved stay at zero in either.
    exact = all(
        np.allclose(logits, oracle.logits.get(name, np.zeros(len(logits))), atol=1e-6)
        for name, logits in saved.items()
    )
    return history, exact


def _choice_grids(state):
    """The finite choices nasplug's strategies use for each decision of the saved space."""
    space = state.get("hyperparameters")
    if not space:
        return {}
    try:
        import keras_tuner

        from nasplug.space import DEFAULT_MAX_CHOICES, SearchSpace

        hps = keras_tuner.HyperParameters.from_config(space)
        view = SearchSpace(hps, state.get("max_choices", DEFAULT_MAX_CHOICES))
        return {hp.name: list(view.choices(hp)) for hp in view.decisions}
    except Exception:  # a space from another library: fall back to choice indices
        return {}


def _labels(grid, size):
    if grid and len(grid) == size:
        return [_short(v) for v in grid]
    return [f"#{i}" for i in range(size)]


def choice_shares(project, window=None):
    """How often each value of each categorical decision was tried, trial window by window.

    Returns:
        A dict decision -> (window end positions, {value label: share per window}).
    """
    trials = [t for t in project.trials if t["values"]]
    if len(trials) < 6:
        return {}  # too few for a window to show a trend
    window = window or max(3, len(trials) // 4)
    out = {}
    names = []
    for t in trials:
        names += [k for k in t["values"] if k not in names and not k.startswith("tuner/")]
    continuous = {
        h["config"]["name"] for t in trials for h in t["space"]
        if h.get("class_name") == "Float" and h.get("config", {}).get("step") is None
    }
    for name in names:
        if name in continuous:
            continue
        seen = [t["values"].get(name) for t in trials]
        distinct = {_hashable(v) for v in seen if v is not None}
        if not 2 <= len(distinct) <= 8:
            continue
        ends = list(range(window, len(trials) + 1, max(1, window // 2))) or [len(trials)]
        shares = {}
        for value in sorted(distinct, key=str):
            shares[_short(value)] = [
                sum(1 for v in seen[e - window:e] if _hashable(v) == value) / window for e in ends
            ]
        out[name] = (ends, shares)
    return out


# -- plots ------------------------------------------------------------------------------


def _figure(width=7.5, height=3.6):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _png(fig):
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_scores(projects):
    fig, ax = _figure()
    for k, project in enumerate(projects):
        colour = _PALETTE[k % len(_PALETTE)]
        scored = project.scored
        if not scored:
            continue
        x = [t["position"] for t in scored]
        y = [t["score"] for t in scored]
        pick = np.maximum if project.direction == "max" else np.minimum
        ax.scatter(x, y, s=18, color=colour, alpha=0.55)
        ax.step(x, pick.accumulate(y), where="post", color=colour, label=f"{project.name} (best so far)")
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set_xlabel("trial (in the order trials ended)")
    ax.set_ylabel(_objective_label(projects))
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def plot_size(projects):
    fig, ax = _figure()
    direction = projects[0].direction
    points, colours = [], []
    for k, project in enumerate(projects):
        colour = _PALETTE[k % len(_PALETTE)]
        pts = [(t["params"], t["score"]) for t in project.scored if t["params"]]
        if pts:
            ax.scatter(*zip(*pts), s=22, color=colour, alpha=0.6, label=project.name)
        points += pts
        colours += [colour] * len(pts)
    front = [points[i] for i in pareto_front(points, direction)]
    if front:
        ax.step(*zip(*front), where="post", color="black", linewidth=1, alpha=0.7)
        ax.scatter(*zip(*front), s=70, facecolors="none", edgecolors="black", linewidths=1.5,
                   label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("model size (parameters, log scale)")
    ax.set_ylabel(_objective_label(projects))
    ax.legend(fontsize=8, loc="best")
    return _png(fig), front


def plot_importance(importance):
    items = sorted(importance.items(), key=lambda kv: kv[1])
    fig, ax = _figure(height=max(1.6, 0.35 * len(items) + 0.8))
    ax.barh([_short(k, 40) for k, _ in items], [100 * v for _, v in items], color="#1f77b4")
    ax.set_xlabel("share of the score's variance explained (%)")
    return _png(fig)


def plot_preferences(prefs, title):
    names = list(prefs)
    fig, axes = _subplots(len(names))
    for ax, name in zip(axes, names):
        labels, values, kind = prefs[name]
        ax.bar(range(len(values)), values, color="#9467bd")
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels(labels, rotation=45 if len(labels) > 4 else 0, fontsize=7, ha="right" if len(labels) > 4 else "center")
        ax.set_title(_short(name, 30), fontsize=9)
        ax.set_ylabel(kind, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def plot_policy_history(history, title):
    names = list(history)
    fig, axes = _subplots(len(names))
    for ax, name in zip(axes, names):
        labels, probabilities = history[name]
        steps = np.arange(len(probabilities))
        for j, label in enumerate(labels):
            ax.plot(steps, probabilities[:, j], label=label)
        ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_title(_short(name, 30), fontsize=9)
        ax.set_xlabel("trials learned from", fontsize=8)
        if len(labels) <= 6:
            ax.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def plot_shares(shares, title):
    names = list(shares)
    fig, axes = _subplots(len(names))
    for ax, name in zip(axes, names):
        ends, by_value = shares[name]
        for label, series in by_value.items():
            ax.plot(ends, series, marker="o", markersize=3, label=label)
        ax.set_ylim(-0.05, 1.05)
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_title(_short(name, 30), fontsize=9)
        ax.set_xlabel("trial", fontsize=8)
        ax.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _subplots(count):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cols = min(3, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols + 0.6, 2.3 * rows + 0.5), dpi=100, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[count:]:
        ax.set_visible(False)
    for ax in flat[:count]:
        ax.grid(True, alpha=0.3)
    return fig, flat[:count]


def _objective_label(projects):
    names = {p.objective for p in projects if p.objective}
    label = " / ".join(sorted(names)) if names else "score"
    directions = {p.direction for p in projects}
    return f"{label} ({'higher' if directions == {'max'} else 'lower' if directions == {'min'} else 'mixed'} is better)"


# -- the page ---------------------------------------------------------------------------


def write_report(directory, output=None, title=None, model=None):
    """Writes a self-contained HTML report for a search directory.

    Args:
        directory: A KerasTuner / AutoKeras / nasplug project directory, or a directory
            holding several projects (they are compared side by side).
        output: Path of the HTML file. Defaults to `report.html` inside `directory`.
        title: Page title. Defaults to the directory's name.
        model: Optional path of the best model saved as a `.keras` file, whose layers are
            listed with the best architecture. `.keras` files inside `directory` are
            listed anyway.

    Returns:
        The path of the written file.
    """
    projects = load_search(directory)
    directory = os.fspath(directory)
    output = os.fspath(output) if output is not None else os.path.join(directory, "report.html")
    title = title or f"Search report: {os.path.basename(os.path.abspath(directory))}"
    sections = [_summary_section(projects)]
    if any(p.scored for p in projects):
        sections.append(_figure_section(
            "Score by trial",
            plot_scores(projects),
            "Dots are trials; the line is the best score so far, one colour per project.",
        ))
        sections.append(_size_section(projects))
        sections.append(_importance_section(projects))
    sections += _controller_sections(projects)
    sections.append(_best_section(projects, directory, model))
    sections.append(_failures_section(projects))
    page = _PAGE.format(
        title=html.escape(title),
        generated=html.escape(datetime.now().strftime("%Y-%m-%d %H:%M")),
        directory=html.escape(os.path.abspath(directory)),
        body="\n".join(s for s in sections if s),
    )
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        f.write(page)
    return output


def _summary_section(projects):
    rows = []
    for project in projects:
        counts = {}
        for t in project.trials:
            counts[t["status"]] = counts.get(t["status"], 0) + 1
        best = project.best()
        rows.append([
            project.name,
            project.strategy or "",
            ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "none",
            f"{project.objective or 'score'} ({project.direction})",
            _fmt(best["score"]) if best else "",
            best["trial_id"] if best else "",
        ])
    return "<h2>Searches</h2>" + _table(
        ["project", "strategy", "trials", "objective", "best score", "best trial"], rows
    )


def _figure_section(heading, png, caption):
    return (
        f"<h2>{html.escape(heading)}</h2><figure><img alt=\"{html.escape(heading)}\" "
        f"src=\"data:image/png;base64,{png}\"><figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _size_section(projects):
    if not any(t["params"] for p in projects for t in p.scored):
        return (
            "<h2>Score against model size</h2><p class=note>No model sizes found: the trials "
            "saved no weights (checkpoint.weights.h5) and recorded no parameter metric.</p>"
        )
    if len({p.direction for p in projects}) > 1:
        return "<h2>Score against model size</h2><p class=note>The projects optimise in different directions; no common front.</p>"
    png, front = plot_size(projects)
    rows = [[f"{int(size):,}", _fmt(score)] for size, score in front]
    return _figure_section(
        "Score against model size",
        png,
        "Circled: the Pareto front, the trials that no smaller model beats.",
    ) + _table(["parameters", "score"], rows)


def _importance_section(projects):
    names, rows, rewards, _ = trial_table(projects)
    importance, info = hyperparameter_importance(names, rows, rewards)
    heading = "Which decisions mattered"
    if importance is None:
        return f"<h2>{heading}</h2><p class=note>No importance analysis: {html.escape(info)}</p>"
    fit = (
        f" Out-of-bag R² of the forest: {info:.2f}"
        + (" (low: read the bars as a rough guide)." if info < 0.3 else ".")
        if info is not None else " Too few trials for an out-of-bag check: read the bars as a rough guide."
    )
    return _figure_section(
        heading,
        plot_importance(importance),
        f"Each hyperparameter's main effect on the score, as a share of the variance of a "
        f"random forest fitted on {len(rows)} scored trials (fANOVA-style).{fit}",
    )


def _controller_sections(projects):
    sections = []
    for project in projects:
        prefs = controller_preferences(project)
        if not prefs:
            continue
        strategy = project.strategy
        if strategy == "reinforce":
            caption = ("The controller's probability of each choice at the end of the search "
                       "(softmax of its logits, saved in oracle.json).")
        else:
            caption = ("The Q-learning agent's value of each choice at the end of the search, "
                       "averaged over the states it was taken from (rewards are ranks in [0, 1]).")
        shown = dict(list(prefs.items())[:12])
        sections.append(_figure_section(
            f"Controller preferences: {project.name}", plot_preferences(shown, f"{project.name}: final preferences"), caption
        ))
        if strategy == "reinforce":
            history, exact = replay_controller(project)
            if history:
                shown = dict(list(history.items())[:12])
                sections.append(_figure_section(
                    f"How the controller's preferences moved: {project.name}",
                    plot_policy_history(shown, f"{project.name}: probability of each choice"),
                    "The controller's probabilities after each completed trial it learned from, "
                    "replayed from the trials with the controller's own update"
                    + (" (the replay ends exactly at the saved state)." if exact
                       else " (the replay does not end at the saved state: read it as approximate)."),
                ))
                continue
        shares = choice_shares(project)
        if shares:
            shown = dict(list(shares.items())[:12])
            sections.append(_figure_section(
                f"How the choices moved: {project.name}",
                plot_shares(shown, f"{project.name}: share of trials taking each value"),
                "Share of the trials in a sliding window that took each value: a controller "
                "that learns concentrates on the values it prefers.",
            ))
    return sections


def _best_section(projects, directory, model=None):
    candidates = [(p, p.best()) for p in projects if p.best()]
    if not candidates:
        return "<h2>Best architecture</h2><p class=note>No trial completed with a score.</p>"
    directions = {p.direction for p, _ in candidates}
    sign = 1.0 if directions == {"max"} else -1.0
    project, best = max(candidates, key=lambda pb: sign * pb[1]["score"])
    out = [
        "<h2>Best architecture</h2>",
        f"<p>Trial <b>{html.escape(str(best['trial_id']))}</b> of <b>{html.escape(project.name)}</b>: "
        f"{html.escape(project.objective or 'score')} = <b>{_fmt(best['score'])}</b>"
        + (f", {best['params']:,} parameters" if best["params"] else "")
        + ".</p>",
        _table(["hyperparameter", "value"], [[k, _short(v, 80)] for k, v in best["values"].items()]),
    ]
    if best["checkpoint"]:
        layers = _weights_layers(best["checkpoint"])
        if layers:
            out.append("<h3>Layers with weights (from the trial's checkpoint)</h3>")
            out.append(_table(
                ["layer", "weight shapes", "parameters"],
                [[name, ", ".join(str(s) for s in shapes), f"{count:,}"] for name, shapes, count in layers],
            ))
    models = _saved_models(directory)
    if model is not None and os.path.abspath(model) not in map(os.path.abspath, models):
        models.insert(0, os.fspath(model))
    for path in models:
        layers = _keras_archive_layers(path)
        if layers:
            out.append(f"<h3>Saved model {html.escape(os.path.basename(path))}</h3>")
            out.append(_table(["layer", "type", "settings", "parameters"], layers))
    return "\n".join(out)


def _failures_section(projects):
    rows = []
    for project in projects:
        for t in project.trials:
            if t["status"] in ("FAILED", "INVALID") and t["message"]:
                last = [line for line in str(t["message"]).strip().splitlines() if line.strip()]
                rows.append([project.name, t["trial_id"], t["status"].lower(), _short(last[-1] if last else "", 160)])
    if not rows:
        return ""
    return "<h2>Failed trials</h2>" + _table(["project", "trial", "status", "last error line"], rows)


def _table(header, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _short(value, width=14):
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 1.5rem auto; padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.15rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 1.8rem; }}
h3 {{ font-size: 1rem; }}
.meta, .note, figcaption {{ color: #555; font-size: .9rem; }}
figure {{ margin: .5rem 0; }}
img {{ max-width: 100%; height: auto; border: 1px solid #eee; }}
table {{ border-collapse: collapse; font-size: .88rem; margin: .5rem 0; }}
th, td {{ border: 1px solid #ddd; padding: .25rem .55rem; text-align: left; vertical-align: top; }}
th {{ background: #f4f4f4; }}
</style></head>
<body>
<h1>{title}</h1>
<p class="meta">Directory {directory} · generated {generated} by nasplug</p>
{body}
</body></html>
"""
