"""What a search tells, as numbers: the report's analysis.

The trial table and which decisions mattered in it, the Pareto front of score against
model size, and what the reinforcement-learning controllers learned. Every function takes
`Project`s (`nasplug.report.load`) or plain rows and returns numbers and labels; the plots
and the page only draw them.
"""

import copy
import json
import math

import numpy as np

# Values of one hyperparameter the importance analysis tries at most.
_MAX_GRID = 20


def trial_table(projects):
    """One row per scored trial across projects, for the importance analysis.

    Args:
        projects: `Project`s; a minimised objective's scores are negated, so that the
            rewards of every project are maximised.

    Returns:
        (feature names, list of value dicts, scores as maximised rewards, project names).
    """
    names, rows, rewards, owners = [], [], [], []
    for project in projects:
        sign = 1.0 if project.direction == "max" else -1.0
        for trial in project.scored:
            # A decision the trial's network did not use is missing from its row, as an
            # inactive one is: "not used", not a value.
            values = {k: v for k, v in trial["live_values"].items() if not k.startswith("tuner/")}
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
    numeric = present and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
    )
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

        from nasplug.oracles import registry
        from nasplug.space import DEFAULT_MAX_CHOICES, SearchSpace

        final_space = SearchSpace(
            _space_from(state["hyperparameters"]),
            state.get("max_choices", DEFAULT_MAX_CHOICES),
        )
        oracle = registry.get("reinforce").oracle_class()(
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
        oracle.update_space(_space_from({"space": record["space"], "values": {}}))
        values = oracle.hyperparameters.copy()
        values.values = dict(record["values"])
        trial = Trial(values, trial_id=record["trial_id"], status="COMPLETED")
        trial.score = record["score"]
        oracle.observe(trial)
        snapshots.append({hp.name: oracle.probabilities(hp) for hp in decisions})
    history = {
        hp.name: (
            [shorten(v) for v in final_space.choices(hp)],
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


def _space_from(config):
    """`keras_tuner.HyperParameters` from a saved config, leaving the config as it was.

    `HyperParameters.from_config` turns the conditions inside the config it is given
    into objects, which would break reading the same saved state a second time.
    """
    import keras_tuner

    return keras_tuner.HyperParameters.from_config(copy.deepcopy(config))


def _choice_grids(state):
    """The finite choices nasplug's strategies use for each decision of the saved space."""
    space = state.get("hyperparameters")
    if not space:
        return {}
    try:
        from nasplug.space import DEFAULT_MAX_CHOICES, SearchSpace

        hps = _space_from(space)
        view = SearchSpace(hps, state.get("max_choices", DEFAULT_MAX_CHOICES))
        return {hp.name: list(view.choices(hp)) for hp in view.decisions}
    except Exception:  # a space from another library: fall back to choice indices
        return {}


def _labels(grid, size):
    if grid and len(grid) == size:
        return [shorten(v) for v in grid]
    return [f"#{i}" for i in range(size)]


def choice_shares(project, window=None):
    """How often each value of each categorical decision was tried, trial window by window.

    Args:
        project: A `Project`.
        window: Trials per window; a quarter of the trials (at least 3) by default.

    Returns:
        A dict decision -> (window end positions, {value label: share per window}).
    """
    trials = [t for t in project.trials if t["live_values"]]
    if len(trials) < 6:
        return {}  # too few for a window to show a trend
    window = window or max(3, len(trials) // 4)
    out = {}
    names = []
    for t in trials:
        names += [k for k in t["live_values"] if k not in names and not k.startswith("tuner/")]
    continuous = {
        h["config"]["name"]
        for t in trials
        for h in t["space"]
        if h.get("class_name") == "Float" and h.get("config", {}).get("step") is None
    }
    for name in names:
        if name in continuous:
            continue
        seen = [t["live_values"].get(name) for t in trials]
        distinct = {_hashable(v) for v in seen if v is not None}
        if not 2 <= len(distinct) <= 8:
            continue
        ends = list(range(window, len(trials) + 1, max(1, window // 2))) or [len(trials)]
        shares = {}
        for value in sorted(distinct, key=str):
            shares[shorten(value)] = [
                sum(1 for v in seen[e - window : e] if _hashable(v) == value) / window for e in ends
            ]
        out[name] = (ends, shares)
    return out


def shorten(value, width=14):
    """A value as text of at most `width` characters, for labels and table cells."""
    text = f"{value:.3g}" if isinstance(value, float) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def lineage(project):
    """Who begat whom in an evolution search, and how each child scored against its parent.

    Regularized evolution (strategies "evolution" and "predictor") makes every trial after
    its first population a mutation of a parent trial. nasplug's `EvolutionOracle` saves
    each child's parent (`parents` in `oracle.json`); for a search saved before it did, a
    child's parent is inferred as the earlier completed trial whose values differ from
    the child's in the fewest decisions (no more than the oracle's `mutations`), the
    better-scored one on a tie.

    Args:
        project: A `Project` whose oracle state holds an evolution `population`.

    Returns:
        None for other strategies; else a dict with `children` (one dict per child, in
        trial order: `child` and `parent` trial records, `changed` = {decision: (parent's
        value, child's value)}, `delta` = child's score minus its parent's or None),
        `founders` (trial records that have no parent: the first population, warm
        starts, random fallbacks), `population` (trial ids of the final population) and
        `recorded` (whether the parents were saved, rather than inferred).
    """
    state = project.state
    if not isinstance(state.get("population"), list):
        return None
    by_id = {t["trial_id"]: t for t in project.trials}
    trials = sorted(project.trials, key=lambda t: t["number"])
    recorded = isinstance(state.get("parents"), dict)
    parents = (
        {c: p for c, p in state["parents"].items() if c in by_id and p in by_id}
        if recorded
        else _inferred_parents(trials, state, project.direction)
    )
    children, founders = [], []
    for trial in trials:
        parent_id = parents.get(trial["trial_id"])
        if parent_id is None:
            founders.append(trial)
            continue
        parent = by_id[parent_id]
        keys = list(trial["values"]) + [k for k in parent["values"] if k not in trial["values"]]
        keys = [k for k in keys if not k.startswith("tuner/")]
        changed = {
            k: (parent["values"].get(k), trial["values"].get(k))
            for k in keys
            if _hashable(parent["values"].get(k)) != _hashable(trial["values"].get(k))
        }
        delta = None
        if trial["score"] is not None and parent["score"] is not None:
            delta = trial["score"] - parent["score"]
        children.append({"child": trial, "parent": parent, "changed": changed, "delta": delta})
    return {
        "children": children,
        "founders": founders,
        "population": [i for i in _final_population(project) if i in by_id],
        "recorded": recorded,
    }


def _final_population(project):
    """The evolution population once every ended trial is in it.

    The oracle learns from a trial just before its next proposal, so the population it
    saved leaves out the trials that ended after the last one (the search's last child
    at least). They join as `EvolutionOracle.observe` has them join: each completed
    trial in end order, a full population then losing its oldest member (in Pareto mode,
    its worst-ranked one).
    """
    state = project.state
    population = list(state["population"])
    size, observed = state.get("population_size"), state.get("observed")
    if not isinstance(size, int) or not isinstance(observed, int):
        return population  # not saved by nasplug's oracle: as it is
    scored = {t["trial_id"]: t for t in project.scored}
    for trial_id in (state.get("end_order") or [])[observed:]:
        if trial_id not in scored:
            continue
        population.append(trial_id)
        if len(population) > size:
            population.pop(_leaving(project, population, scored))
    return population


def _leaving(project, population, scored):
    """Which member leaves a full population (see `EvolutionOracle._leaving`)."""
    state = project.state
    objectives = [(o["name"], o["direction"]) for o in state.get("objectives") or []]
    if not state.get("pareto") or not objectives:
        return 0
    from nasplug.oracles import pareto as pareto_module

    points, violations = [], []
    for trial_id in population:
        trial = scored.get(trial_id) or {}
        metrics = trial.get("metrics_at_best_step") or {}
        points.append(
            [
                (-1.0 if direction == "max" else 1.0) * float(metrics.get(name, math.nan))
                for name, direction in objectives
            ]
        )
        violations.append(float(metrics.get(pareto_module.VIOLATION, 0.0)))
    keys = pareto_module.selection_keys(points, violations)
    return max(range(len(population)), key=lambda i: keys[i])


def _inferred_parents(trials, state, direction):
    """Parents of a search that did not record them: the nearest earlier scored trial."""
    first = max(int(state.get("population_size") or 0), len(state.get("initial_hps") or []))
    mutations = int(state.get("mutations") or 1)
    sign = 1.0 if direction == "max" else -1.0
    parents = {}
    for index, trial in enumerate(trials):
        if index < first or not trial["values"]:
            continue
        best = None
        for earlier in trials[:index]:
            if earlier["score"] is None:
                continue
            shared = set(trial["values"]) & set(earlier["values"])
            differing = sum(
                1
                for k in shared
                if not k.startswith("tuner/")
                and _hashable(trial["values"][k]) != _hashable(earlier["values"][k])
            )
            key = (
                differing,
                len(set(trial["values"]) ^ set(earlier["values"])),
                -sign * earlier["score"],
            )
            if best is None or key < best[0]:
                best = (key, earlier["trial_id"])
        # A mutation changes at least one decision (a shared one, or which are active)
        # and at most `mutations` of those both trials take.
        if best is not None and best[0][0] + best[0][1] > 0 and best[0][0] <= mutations:
            parents[trial["trial_id"]] = best[1]
    return parents


def aimed_front(project, chosen=None):
    """The front a multi-objective or constrained nasplug search aimed at.

    Read from what the oracle saved (`objectives`, `pareto`, `constraints` in
    `oracle.json`) and each trial's metrics at its best step, ranked as the oracle ranks
    them (`nasplug.oracles.pareto`, constrained dominance).

    Args:
        project: A `Project`.
        chosen: Optional trial id of the network the user kept (an estimator's
            `best_trial_id_`); defaults to the oracle's rule, the front member best in
            the first objective.

    Returns:
        None for a search without several objectives or constraints; otherwise a dict:
        `objectives` (list of (name, direction)), `constraints` (the saved limits:
        dicts with `name`, `metric`, `limit`), `trials` (per completed trial: `trial_id`,
        `values` by objective name, `violation`, `on_front`), `front` (those on the front,
        best first in the first objective) and `chosen` (a trial id or None).
    """
    from nasplug.oracles import pareto as pareto_module

    state = project.state
    objectives = [(o["name"], o["direction"]) for o in state.get("objectives") or []]
    constraints = state.get("constraints") or []
    if not objectives or (not state.get("pareto") and not constraints):
        return None
    rows = []
    for trial in project.scored:
        metrics = trial.get("metrics_at_best_step") or {}
        if any(name not in metrics for name, _ in objectives):
            continue
        rows.append(
            {
                "trial_id": trial["trial_id"],
                "values": {name: float(metrics[name]) for name, _ in objectives},
                "violation": float(metrics.get("constraint_violation", 0.0)),
            }
        )
    if not rows:
        return None
    signs = [-1.0 if direction == "max" else 1.0 for _, direction in objectives]
    points = [[s * row["values"][name] for s, (name, _) in zip(signs, objectives)] for row in rows]
    mask = pareto_module.pareto_mask(points, [row["violation"] for row in rows])
    for row, on_front in zip(rows, mask):
        row["on_front"] = bool(on_front)
    first, sign = objectives[0][0], signs[0]
    front = sorted((r for r in rows if r["on_front"]), key=lambda r: sign * r["values"][first])
    if chosen is None and front:
        chosen = front[0]["trial_id"]
    return {
        "objectives": objectives,
        "constraints": constraints,
        "trials": rows,
        "front": front,
        "chosen": None if chosen is None else str(chosen),
    }
