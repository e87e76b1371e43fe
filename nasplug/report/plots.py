"""The report's plots: matplotlib figures rendered to base64 PNG for the page.

Each function draws what `nasplug.report.analysis` computed; matplotlib is imported on
first use, with the Agg backend, so no display is needed.
"""

import base64
import io
import math

import numpy as np

from nasplug.report.analysis import pareto_front, shorten

# One colour per project, in order.
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]


def plot_scores(projects):
    """Every trial's score and the best so far, by trial, one colour per project.

    Args:
        projects: `Project`s.

    Returns:
        The PNG, base64-encoded.
    """
    fig, ax = _figure()
    for k, project in enumerate(projects):
        colour = _PALETTE[k % len(_PALETTE)]
        scored = project.scored
        if not scored:
            continue
        # By trial number (the progress line's), the best so far among trials up to it.
        scored = sorted(scored, key=lambda t: t["number"])
        x = [t["number"] for t in scored]
        y = [t["score"] for t in scored]
        pick = np.maximum if project.direction == "max" else np.minimum
        ax.scatter(x, y, s=18, color=colour, alpha=0.55)
        ax.step(
            x,
            pick.accumulate(y),
            where="post",
            color=colour,
            label=f"{project.name} (best so far)",
        )
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set_xlabel("trial")
    ax.set_ylabel(_objective_label(projects))
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def plot_size(projects):
    """Score against model size (log scale), with the Pareto front circled.

    Args:
        projects: `Project`s optimising in the same direction.

    Returns:
        (the PNG base64-encoded, the front as (parameters, score) pairs by size).
    """
    fig, ax = _figure()
    direction = projects[0].direction
    points = []
    for k, project in enumerate(projects):
        colour = _PALETTE[k % len(_PALETTE)]
        pts = [(t["params"], t["score"]) for t in project.scored if t["params"]]
        if pts:
            ax.scatter(*zip(*pts), s=22, color=colour, alpha=0.6, label=project.name)
        points += pts
    front = [points[i] for i in pareto_front(points, direction)]
    if front:
        ax.step(*zip(*front), where="post", color="black", linewidth=1, alpha=0.7)
        ax.scatter(
            *zip(*front),
            s=70,
            facecolors="none",
            edgecolors="black",
            linewidths=1.5,
            label="Pareto front",
        )
    ax.set_xscale("log")
    ax.set_xlabel("model size (parameters, log scale)")
    ax.set_ylabel(_objective_label(projects))
    ax.legend(fontsize=8, loc="best")
    return _png(fig), front


def plot_aimed_front(front, title):
    """The first objective against the second, the front the search aimed at marked.

    Feasible trials are dots, trials that break a constraint are grey crosses, the front
    is a step line of circled points, the chosen network a star, and a limit on an
    objective drawn as a dashed line (`max_params` on "params", `max_latency_ms` on
    "latency_ms").

    Args:
        front: What `analysis.aimed_front` returns.
        title: The figure's title (the project's name).

    Returns:
        The PNG, base64-encoded.
    """
    fig, ax = _figure(7.5, 4.2)
    (y_name, y_dir), (x_name, x_dir) = front["objectives"][:2]

    def xy(rows):
        return [r["values"][x_name] for r in rows], [r["values"][y_name] for r in rows]

    feasible = [r for r in front["trials"] if r["violation"] == 0]
    infeasible = [r for r in front["trials"] if r["violation"] > 0]
    if feasible:
        ax.scatter(*xy(feasible), s=22, color=_PALETTE[0], alpha=0.6, label="trial")
    if infeasible:
        ax.scatter(
            *xy(infeasible), s=26, color="grey", marker="x", alpha=0.8, label="breaks a constraint"
        )
    on_front = sorted(front["front"], key=lambda r: r["values"][x_name])
    if on_front:
        ax.step(
            *xy(on_front),
            where="post" if y_dir == "max" else "pre",
            color="black",
            linewidth=1,
            alpha=0.7,
        )
        ax.scatter(
            *xy(on_front),
            s=80,
            facecolors="none",
            edgecolors="black",
            linewidths=1.5,
            label="Pareto front",
        )
    chosen = [r for r in front["trials"] if r["trial_id"] == front["chosen"]]
    if chosen:
        ax.scatter(
            *xy(chosen),
            s=260,
            marker="*",
            color="#ff7f0e",
            edgecolors="black",
            zorder=5,
            label=f"chosen (trial {front['chosen']})",
        )
    for constraint in front["constraints"]:
        metric, limit = constraint.get("metric"), constraint.get("limit")
        if metric == x_name:
            ax.axvline(
                limit,
                color="#d62728",
                linestyle="--",
                linewidth=1.2,
                label=f"{constraint['name']} = {limit:g}",
            )
        elif metric == y_name:
            ax.axhline(
                limit,
                color="#d62728",
                linestyle="--",
                linewidth=1.2,
                label=f"{constraint['name']} = {limit:g}",
            )
    xs = [r["values"][x_name] for r in front["trials"]]
    if xs and min(xs) > 0 and max(xs) / min(xs) > 20:
        # Sizes and latencies span orders of magnitude; the front sits at the small end.
        ax.set_xscale("log")
    ax.set_xlabel(f"{x_name} ({'higher' if x_dir == 'max' else 'lower'} is better)")
    ax.set_ylabel(f"{y_name} ({'higher' if y_dir == 'max' else 'lower'} is better)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def plot_importance(importance):
    """One bar per hyperparameter: its share of the score's variance, in percent.

    Args:
        importance: Dict name -> share in [0, 1], as `hyperparameter_importance` returns.

    Returns:
        The PNG, base64-encoded.
    """
    items = sorted(importance.items(), key=lambda kv: kv[1])
    fig, ax = _figure(height=max(1.6, 0.35 * len(items) + 0.8))
    ax.barh([shorten(k, 40) for k, _ in items], [100 * v for _, v in items], color="#1f77b4")
    ax.set_xlabel("share of the score's variance explained (%)")
    return _png(fig)


def plot_preferences(prefs, title):
    """One bar chart per decision: the controller's final preference for each choice.

    Args:
        prefs: Dict decision -> (choice labels, values, kind), as `controller_preferences`
            returns.
        title: The figure's title.

    Returns:
        The PNG, base64-encoded.
    """
    names = list(prefs)
    fig, axes = _subplots(len(names))
    for ax, name in zip(axes, names):
        labels, values, kind = prefs[name]
        ax.bar(range(len(values)), values, color="#9467bd")
        ax.set_xticks(range(len(values)))
        crowded = len(labels) > 4
        ax.set_xticklabels(
            labels,
            rotation=45 if crowded else 0,
            fontsize=7,
            ha="right" if crowded else "center",
        )
        ax.set_title(shorten(name, 30), fontsize=9)
        ax.set_ylabel(kind, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def plot_policy_history(history, title):
    """One panel per decision: each choice's probability after every trial learned from.

    Args:
        history: Dict decision -> (choice labels, probabilities array), as
            `replay_controller` returns.
        title: The figure's title.

    Returns:
        The PNG, base64-encoded.
    """
    names = list(history)
    fig, axes = _subplots(len(names))
    for ax, name in zip(axes, names):
        labels, probabilities = history[name]
        steps = np.arange(len(probabilities))
        for j, label in enumerate(labels):
            ax.plot(steps, probabilities[:, j], label=label)
        ax.set_ylim(0, 1)
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_title(shorten(name, 30), fontsize=9)
        ax.set_xlabel("trials learned from", fontsize=8)
        _legend(ax, len(labels))
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def plot_shares(shares, title):
    """One panel per decision: the share of trials taking each value, window by window.

    Args:
        shares: Dict decision -> (window ends, {label: shares}), as `choice_shares`
            returns.
        title: The figure's title.

    Returns:
        The PNG, base64-encoded.
    """
    names = list(shares)
    fig, axes = _subplots(len(names))
    for ax, name in zip(axes, names):
        ends, by_value = shares[name]
        for label, series in by_value.items():
            ax.plot(ends, series, marker="o", markersize=3, label=label)
        ax.set_ylim(-0.05, 1.05)
        ax.xaxis.set_major_locator(_integer_ticks())
        ax.set_title(shorten(name, 30), fontsize=9)
        ax.set_xlabel("trial", fontsize=8)
        _legend(ax, len(by_value))
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def plot_lineage(lineage, direction="max", objective="score"):
    """Evolution's family tree: each child's arrow from its parent, coloured by the gain.

    Args:
        lineage: What `analysis.lineage` returns.
        direction: "max" or "min", which way is better.
        objective: The objective's label for the y axis.

    Returns:
        The PNG, base64-encoded.
    """
    fig, ax = _figure(height=4.0)
    sign = 1.0 if direction == "max" else -1.0
    colours = {"better": "#2ca02c", "worse": "#d62728", "same": "#7f7f7f"}
    scored = [t["score"] for t in lineage["founders"] if t["score"] is not None]
    scored += [c["child"]["score"] for c in lineage["children"] if c["child"]["score"] is not None]
    scored += [
        c["parent"]["score"] for c in lineage["children"] if c["parent"]["score"] is not None
    ]
    low, high = (min(scored), max(scored)) if scored else (0.0, 1.0)
    pad = 0.08 * (high - low or 1.0)
    # Children without a score (failed) sit on a line below the scored ones.
    floor = low - pad if direction == "max" else high + pad
    arrows = len(lineage["children"]) <= 80
    seen = set()
    for child in lineage["children"]:
        parent, trial, delta = child["parent"], child["child"], child["delta"]
        y0 = parent["score"] if parent["score"] is not None else floor
        y1 = trial["score"] if trial["score"] is not None else floor
        kind = "same" if not delta else ("better" if sign * delta > 0 else "worse")
        if trial["score"] is None:
            kind = "failed"
        colour = colours.get(kind, "#7f7f7f")
        start, end = (parent["number"], y0), (trial["number"], y1)
        if arrows:
            ax.annotate(
                "",
                xy=end,
                xytext=start,
                arrowprops=dict(
                    arrowstyle="-|>",
                    color=colour,
                    alpha=0.6,
                    lw=1,
                    linestyle="--" if kind == "failed" else "-",
                    shrinkA=3,
                    shrinkB=3,
                ),
            )
        else:
            ax.plot(*zip(start, end), color=colour, alpha=0.4, lw=0.8)
        label = {
            "better": "child better than its parent",
            "worse": "child worse than its parent",
            "same": "child as good as its parent",
            "failed": "child that failed",
        }[kind]
        marker = "x" if kind == "failed" else "o"
        ax.scatter(
            [end[0]],
            [end[1]],
            s=22,
            color=colour,
            marker=marker,
            zorder=3,
            label=None if label in seen else label,
        )
        seen.add(label)
    founders = [t for t in lineage["founders"] if t["score"] is not None]
    if founders:
        ax.scatter(
            [t["number"] for t in founders],
            [t["score"] for t in founders],
            s=30,
            marker="s",
            color="#1f77b4",
            zorder=3,
            label="no parent (random or given)",
        )
    lost = [t["number"] for t in lineage["founders"] if t["score"] is None]
    if lost:
        ax.scatter(
            lost,
            [floor] * len(lost),
            s=30,
            marker="x",
            color="#1f77b4",
            zorder=3,
            label="no parent, failed",
        )
    everyone = {t["trial_id"]: t for t in lineage["founders"]}
    everyone.update({c["child"]["trial_id"]: c["child"] for c in lineage["children"]})
    final = [
        everyone[i] for i in lineage["population"] if everyone.get(i, {}).get("score") is not None
    ]
    if final:
        ax.scatter(
            [t["number"] for t in final],
            [t["score"] for t in final],
            s=110,
            facecolors="none",
            edgecolors="black",
            linewidths=1.2,
            zorder=4,
            label="final population",
        )
    ax.xaxis.set_major_locator(_integer_ticks())
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{objective} ({'higher' if direction == 'max' else 'lower'} is better)")
    ax.legend(fontsize=7, loc="best")
    return _png(fig)


def _legend(ax, entries):
    """A legend every panel gets, however many choices it shows (below it when many)."""
    if entries <= 4:
        ax.legend(fontsize=6, loc="best")
    else:
        ax.legend(
            fontsize=6,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.4),
            ncol=min(3, entries),
            frameon=False,
        )


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _subplots(count):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    cols = min(3, count)
    rows = math.ceil(count / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.6 * cols + 0.6, 2.3 * rows + 0.5), dpi=100, squeeze=False
    )
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
    better = "higher" if directions == {"max"} else "lower" if directions == {"min"} else "mixed"
    return f"{label} ({better} is better)"


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


def plot_architecture(layout):
    """A cell or a layer chain as a diagram: labelled nodes joined by labelled arrows.

    Args:
        layout: A layout dict of `nasplug.report.architecture` (`cell_layout`,
            `chain_layout`).

    Returns:
        The PNG, base64-encoded.
    """
    from matplotlib.patches import Circle, FancyBboxPatch

    nodes = layout["nodes"]
    lines = max(node["label"].count("\n") + 1 for node in nodes)
    box_width, box_height = 1.0, 0.2 + 0.16 * lines
    # How far the arcs reach above and below the line (half the offset of matplotlib's
    # arc3 control point). An arc not ending at nodes passes over a box: it clears it.
    reach = box_height / 2
    bends = []
    for arrow in layout["arrows"]:
        length = abs(arrow["end"][0] - arrow["start"][0]) or 1.0
        bend = arrow["bend"]
        if not arrow["clip"]:
            bend = math.copysign(2 * (box_height / 2 + 0.3) / length, bend or -1.0)
        bends.append(bend)
        reach = max(reach, abs(bend) * length / 2 + 0.15)
    xs = [node["x"] for node in nodes]
    left, right = min(xs) - 0.7, max(xs) + 0.7
    scale = min(1.0, 11.0 / (right - left))  # inches per unit
    fig, ax = _figure(width=(right - left) * scale, height=2 * (reach + 0.2) * scale + 0.4)
    ax.grid(False)
    ax.set_axis_off()
    patches = {}
    for node in nodes:
        x, y = node["x"], node["y"]
        if node["shape"] == "box":
            patch = FancyBboxPatch(
                (x - box_width / 2, y - box_height / 2),
                box_width,
                box_height,
                boxstyle="round,pad=0.02",
                facecolor="#eef3fa",
                edgecolor="#1f77b4",
            )
        else:
            patch = Circle((x, y), 0.22, facecolor="#eef3fa", edgecolor="#1f77b4")
        ax.add_patch(patch)
        patches[node["id"]] = patch
        ax.text(x, y, node["label"], ha="center", va="center", fontsize=7)
    for arrow, bend in zip(layout["arrows"], bends):
        clip = arrow["clip"]
        ax.annotate(
            "",
            xy=arrow["end"],
            xytext=arrow["start"],
            arrowprops=dict(
                arrowstyle="-|>",
                color="#444444",
                connectionstyle=f"arc3,rad={bend}",
                patchA=patches[arrow["from"]] if clip else None,
                patchB=patches[arrow["to"]] if clip else None,
                shrinkA=1,
                shrinkB=1,
            ),
        )
        if arrow["label"]:
            # The middle of the arc3 curve (a quadratic Bézier); the axes' equal aspect
            # makes directions in data and on screen agree.
            (x1, y1), (x2, y2) = arrow["start"], arrow["end"]
            x = (x1 + x2) / 2 + bend * (y2 - y1) / 2
            y = (y1 + y2) / 2 - bend * (x2 - x1) / 2
            ax.text(
                x,
                y + (0.14 if bend == 0 else 0.0),
                arrow["label"],
                ha="center",
                va="center",
                fontsize=7,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"),
            )
    ax.set_xlim(left, right)
    ax.set_ylim(-reach - 0.2, reach + 0.2)
    ax.set_aspect("equal")
    ax.set_title(layout["title"], fontsize=9)
    return _png(fig)
