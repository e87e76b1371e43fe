"""The report's page: one self-contained HTML file, its sections in order.

Summary, score by trial, score against size and which decisions mattered, over every
project; then each project's own part: its best architecture with its saved models, and
what its strategy learned (a controller's preferences, an evolution's lineage); then the
failed trials. Plots are embedded as PNG data, so the page needs no network and can be
mailed or attached to an issue.
"""

import html
import os
from datetime import datetime

from nasplug.report.analysis import (
    aimed_front,
    choice_shares,
    controller_preferences,
    hyperparameter_importance,
    lineage,
    replay_controller,
    shorten,
    trial_table,
)
from nasplug.report.architecture import architecture_layouts
from nasplug.report.load import (
    load_search,
    model_description,
    models_of_projects,
    read_keras_archive,
    weights_layers,
)
from nasplug.report.plots import (
    plot_aimed_front,
    plot_architecture,
    plot_importance,
    plot_lineage,
    plot_policy_history,
    plot_preferences,
    plot_scores,
    plot_shares,
    plot_size,
)


def write_report(directory, output=None, title=None, model=None, chosen=None):
    """Writes a self-contained HTML report for a search directory.

    Args:
        directory: A KerasTuner / AutoKeras / nasplug project directory, or a directory
            holding several projects (they are compared side by side, then each gets a
            section of its own).
        output: Path of the HTML file. Defaults to `report.html` inside `directory`.
        title: Page title. Defaults to the directory's name.
        model: Optional path of the best model saved as a `.keras` file, whose layers are
            listed with its project's best architecture. `.keras` files inside
            `directory` are listed anyway, each with the project it belongs to.
        chosen: Optional trial id of the network kept from a multi-objective search (an
            estimator's `best_trial_id_`), starred on its front and shown as its
            project's best architecture. Defaults to the front member best in the first
            objective.

    Returns:
        The path of the written file.
    """
    projects = load_search(directory)
    directory = os.fspath(directory)
    output = os.fspath(output) if output is not None else os.path.join(directory, "report.html")
    title = title or f"Search report: {os.path.basename(os.path.abspath(directory))}"
    sections = [_summary_section(projects), _model_section(model)]
    if any(p.scored for p in projects):
        sections.append(
            _figure_section(
                "Score by trial",
                plot_scores(projects),
                "Dots are trials, numbered as the progress line numbered them; the line is the "
                "best score so far, one colour per project.",
            )
        )
        sections += [_front_section(p, chosen) for p in projects]
        sections.append(_size_section(projects))
        sections.append(_importance_section(projects))
    owned, unowned = models_of_projects(projects, directory, model)
    several = len(projects) > 1
    for index, project in enumerate(projects, start=1):
        sections.append(_project_section(project, owned[project.path], several, index, chosen))
    if unowned:
        sections.append(
            "<h2>Other saved models</h2><p class=note>Models above several projects, so "
            "not any one project's.</p>" + "".join(_model_tables(unowned, "h3"))
        )
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
        trials = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())) or "none"
        cut = sum(t["cut_by_budget"] for t in project.trials)
        if cut:
            trials += f" ({cut} cut short by the time budget)"
        best = project.best()
        rows.append(
            [
                project.name,
                project.strategy or "",
                trials,
                f"{project.objective or 'score'} ({project.direction})",
                _fmt(best["score"]) if best else "",
                best["number"] if best else "",
            ]
        )
    out = "<h2>Searches</h2>" + _table(
        ["project", "strategy", "trials", "objective", "best score", "best trial"], rows
    )
    overall = _overall_best(projects)
    if overall is not None and len(projects) > 1:
        project, best = overall
        out += (
            f"<p>Best of all: trial <b>{best['number']}</b> of <b>{html.escape(project.name)}"
            f"</b>, {html.escape(project.objective or 'score')} = <b>{_fmt(best['score'])}</b> "
            "(its architecture is in its project's section below).</p>"
        )
    return out


def _model_section(model):
    """What the search's score is and how the saved model did, from what `nasplug search`
    wrote beside the model (nothing without it)."""
    described = model_description(model) if model is not None else None
    if not described:
        return ""
    facts = []
    if described.get("validation"):
        facts.append(f"Each trial's score is its {html.escape(str(described['validation']))}.")
    if described.get("test_score") is not None:
        metric = html.escape(str(described.get("test_metric") or "score"))
        rows = described.get("test_rows")
        facts.append(
            f"The saved model's test {metric}: <b>{_fmt(float(described['test_score']))}</b>"
            + (f" on {int(rows)} rows held out from the search." if rows else ".")
        )
    size = described.get("ensemble_size")
    if isinstance(size, int) and size > 1:
        facts.append(
            f"The saved model averages the outputs of {size} networks retrained on all the "
            "training rows from different seeds."
        )
    if not facts:
        return ""
    name = html.escape(os.path.basename(model))
    return f"<h2>The model</h2><p>{name}: " + " ".join(facts) + "</p>"


def _overall_best(projects):
    candidates = [(p, p.best()) for p in projects if p.best()]
    if not candidates or len({p.direction for p, _ in candidates}) > 1:
        return None
    sign = 1.0 if candidates[0][0].direction == "max" else -1.0
    return max(candidates, key=lambda pb: sign * pb[1]["score"])


def _figure_section(heading, png, caption, level="h2"):
    return (
        f'<{level}>{html.escape(heading)}</{level}><figure><img alt="{html.escape(heading)}" '
        f'src="data:image/png;base64,{png}"><figcaption>{html.escape(caption)}</figcaption>'
        "</figure>"
    )


def _front_section(project, chosen):
    front = aimed_front(project, chosen)
    if front is None:
        return ""
    names = [name for name, _ in front["objectives"]]
    limits = ", ".join(
        f"{c['name']} {c['limit']:g}" if c.get("limit") is not None else c["name"]
        for c in front["constraints"]
    )
    caption = (
        "The front the search aimed at: circled, the trials no other trial beats in every "
        "objective"
        + (f" among those within the constraints ({limits}; crosses break them)" if limits else "")
        + "; the star is the network kept."
    )
    png = plot_aimed_front(front, project.name) if len(names) >= 2 else None
    rows = [
        [("★ " if r["trial_id"] == front["chosen"] else "") + r["trial_id"]]
        + [_fmt(r["values"][n]) for n in names]
        + [_fmt(r["violation"])]
        for r in front["front"]
    ]
    table = _table(["trial"] + names + ["constraint violation"], rows)
    heading = f"Pareto front: {' vs '.join(names)}" + (f" ({project.name})" if project.name else "")
    if png is None:
        return f"<h2>{html.escape(heading)}</h2><p>{html.escape(caption)}</p>" + table
    return _figure_section(heading, png, caption) + table


def _size_section(projects):
    if not any(t["params"] for p in projects for t in p.scored):
        return (
            "<h2>Score against model size</h2><p class=note>No model sizes found: the trials "
            "saved no weights (checkpoint.weights.h5) and recorded no parameter metric.</p>"
        )
    if len({p.direction for p in projects}) > 1:
        return (
            "<h2>Score against model size</h2><p class=note>The projects optimise in "
            "different directions; no common front.</p>"
        )
    png, front = plot_size(projects)
    rows = [[f"{int(size):,}", _fmt(score)] for size, score in front]
    return _figure_section(
        "Score against model size",
        png,
        "Circled: the Pareto front, the trials that no smaller model beats.",
    ) + _table(["parameters", "score"], rows)


def _importance_section(projects):
    """Which decisions mattered: drawn only when the forest explains the score at all."""
    names, rows, rewards, _ = trial_table(projects)
    importance, info = hyperparameter_importance(names, rows, rewards)
    heading = "Which decisions mattered"
    if importance is None:
        return f"<h2>{heading}</h2><p class=note>No importance analysis: {html.escape(info)}</p>"
    if info is None:
        return (
            f"<h2>{heading}</h2><p class=note>No importance bars: {len(rows)} scored trials "
            "are too few to check that a forest fitted on them predicts the score (its "
            "out-of-bag R² needs 8), and unchecked bars could show noise.</p>"
        )
    if info <= 0:
        return (
            f"<h2>{heading}</h2><p class=note>No importance bars: a random forest fitted on "
            f"the {len(rows)} scored trials predicts the score no better than their mean "
            f"(out-of-bag R² {info:.2f}), so it cannot tell which decisions mattered. "
            "More trials, or less noisy scores, may.</p>"
        )
    fit = f" Out-of-bag R² of the forest: {info:.2f}" + (
        " (low: read the bars as a rough guide)." if info < 0.3 else "."
    )
    return _figure_section(
        heading,
        plot_importance(importance),
        f"Each hyperparameter's main effect on the score, as a share of the variance of a "
        f"random forest fitted on {len(rows)} scored trials (fANOVA-style).{fit}",
    )


def _project_section(project, models, several, index, chosen=None):
    """One project's own part: its best architecture with its models, its strategy panels.

    With several projects each gets a headed section, so that a project's
    hyperparameters are never shown beside another project's model.
    """
    level = "h3" if several else "h2"
    parts = [_best_architecture(project, models, level, chosen)]
    parts += _strategy_panels(project, level)
    body = "\n".join(p for p in parts if p)
    if not several:
        return body
    return (
        f'<section id="project-{index}"><h2>Project {html.escape(project.name)}</h2>'
        f"{body}</section>"
    )


def _best_architecture(project, models, level, chosen=None):
    best = project.best()
    kept = [t for t in project.scored if chosen is not None and t["trial_id"] == str(chosen)]
    if kept:
        # The network the user kept from a front, which need not have the best score.
        best = kept[0]
    heading = f"<{level}>Best architecture</{level}>"
    if best is None:
        out = [heading, "<p class=note>No trial completed with a score.</p>"]
        out += _model_tables(models, "h4" if level == "h3" else "h3")
        return "\n".join(out)
    sub = "h4" if level == "h3" else "h3"
    out = [
        heading,
        f"<p>Trial <b>{best['number']}</b> of <b>{html.escape(project.name)}</b> (folder "
        f"trial_{html.escape(str(best['trial_id']))}): "
        f"{html.escape(project.objective or 'score')} = <b>{_fmt(best['score'])}</b>"
        + (f", {best['params']:,} parameters" if best["params"] else "")
        + (
            "; its training was cut short by the time budget, so its score is that of a "
            "network trained less than the others"
            if best["cut_by_budget"]
            else ""
        )
        + ".</p>",
        _table(
            ["hyperparameter", "value"],
            [[k, shorten(v, 80)] for k, v in best["live_values"].items()],
        ),
    ]
    unused = [k for k in best["values"] if k not in best["live_values"]]
    if unused:
        out.append(
            "<p class=note>Recorded by the trial but not used to build its network "
            f"(not shown): {html.escape(', '.join(unused))}.</p>"
        )
    # A searched cell or layer chain (nasplug.blocks), drawn from its decisions.
    for layout in architecture_layouts(best["live_values"]):
        out.append(
            _figure_section(
                layout["title"], plot_architecture(layout), " ".join(layout["notes"]), level=sub
            )
        )
    if best["checkpoint"]:
        layers = weights_layers(best["checkpoint"])
        if layers:
            out.append(f"<{sub}>Layers with weights (from the trial's checkpoint)</{sub}>")
            out.append(
                _table(
                    ["layer", "weight shapes", "parameters"],
                    [
                        [name, ", ".join(str(s) for s in shapes), f"{count:,}"]
                        for name, shapes, count in layers
                    ],
                )
            )
    out += _model_tables(models, sub)
    return "\n".join(out)


def _model_tables(paths, level):
    out = []
    for path in paths:
        archive = read_keras_archive(path)
        if not archive or not archive["layers"]:
            continue
        out.append(f"<{level}>Saved model {html.escape(os.path.basename(path))}</{level}>")
        facts = [f"{archive['parameters']:,} parameters"] if archive["parameters"] else []
        for group in archive["ensembles"]:
            where = f" in {group['path']}" if group["path"] else ""
            facts.append(
                f"it averages the outputs of {len(group['members'])} networks of one "
                f"architecture{where} ({', '.join(group['members'])}), each with "
                f"{group['parameters']:,} parameters: the layers of {group['shown']} are "
                "listed, the others' are the same"
            )
        note = "; ".join(facts)
        out.append(
            f"<p class=note>{html.escape(os.path.abspath(path))}"
            + (f"<br>{html.escape(note[:1].upper() + note[1:])}.</p>" if note else "</p>")
        )
        out.append(_table(["layer", "type", "settings", "parameters"], archive["layers"]))
    return out


def _strategy_panels(project, level):
    """What the strategy learned, as its saved state shows it.

    The panels follow what the state holds: a REINFORCE policy (`logits`), a Q-learning
    table (`q_values`), or an evolution population (`population`, with the parents
    nasplug records), so a strategy built on one of them gets its panels too.
    """
    sections = []
    prefs = controller_preferences(project)
    if prefs:
        # As in controller_preferences: saved logits mean a REINFORCE policy.
        policy = isinstance(project.state.get("logits"), dict)
        if policy:
            caption = (
                "The controller's probability of each choice at the end of the search "
                "(softmax of its logits, saved in oracle.json)."
            )
        else:
            caption = (
                "The Q-learning agent's value of each choice at the end of the search, "
                "averaged over the states it was taken from (rewards are ranks in [0, 1])."
            )
        sections.append(
            _figure_section(
                f"Controller preferences: {project.name}",
                plot_preferences(_first(prefs), f"{project.name}: final preferences"),
                caption,
                level,
            )
        )
        history, exact = replay_controller(project) if policy else ({}, False)
        if history:
            sections.append(
                _figure_section(
                    f"How the controller's preferences moved: {project.name}",
                    plot_policy_history(
                        _first(history), f"{project.name}: probability of each choice"
                    ),
                    "The controller's probabilities after each completed trial it learned from, "
                    "replayed from the trials with the controller's own update"
                    + (
                        " (the replay ends exactly at the saved state)."
                        if exact
                        else " (the replay does not end at the saved state: read it as "
                        "approximate)."
                    ),
                    level,
                )
            )
        else:
            shares = choice_shares(project)
            if shares:
                sections.append(
                    _figure_section(
                        f"How the choices moved: {project.name}",
                        plot_shares(
                            _first(shares), f"{project.name}: share of trials taking each value"
                        ),
                        "Share of the trials in a sliding window that took each value: a "
                        "controller that learns concentrates on the values it prefers.",
                        level,
                    )
                )
    family = lineage(project)
    if family is not None:
        sections.append(_lineage_section(project, family, level))
    return sections


def _lineage_section(project, family, level):
    heading = f"Lineage: {project.name}"
    children = family["children"]
    if not children:
        return (
            f"<{level}>{html.escape(heading)}</{level}><p class=note>No child yet: every "
            "trial so far belongs to the first population (random or given values), which "
            "evolution breeds from once it is full.</p>"
        )
    sign = 1.0 if project.direction == "max" else -1.0
    better = sum(1 for c in children if c["delta"] is not None and sign * c["delta"] > 0)
    failed = sum(1 for c in children if c["child"]["score"] is None)
    how = (
        "the parents the oracle recorded"
        if family["recorded"]
        else "parents inferred (this search saved none): the earlier trial whose values "
        "differ least from the child's"
    )
    caption = (
        f"Each arrow goes from a parent trial to the child mutated from it ({how}); green "
        f"when the child scored better, red when worse. {len(children)} children, "
        f"{better} better than their parent"
        + (f", {failed} failed (drawn at the worst end)" if failed else "")
        + "; squares had no parent; circled: the population when the search ended."
    )
    out = _figure_section(
        heading,
        plot_lineage(family, project.direction, project.objective or "score"),
        caption,
        level,
    )
    if len(children) <= 40:
        rows = [
            [
                c["child"]["number"],
                c["parent"]["number"],
                "; ".join(
                    f"{name}: {shorten(old)} → {shorten(new)}"
                    for name, (old, new) in c["changed"].items()
                )
                or "(same values)",
                _fmt(c["parent"]["score"]) if c["parent"]["score"] is not None else "",
                _fmt(c["child"]["score"])
                if c["child"]["score"] is not None
                else c["child"]["status"].lower(),
            ]
            for c in children
        ]
        out += _table(["trial", "parent", "mutation", "parent's score", "score"], rows)
    return out


def _first(panels, count=12):
    # More panels make an unreadable figure; decisions come in the order they are taken.
    return dict(list(panels.items())[:count])


def _failures_section(projects):
    rows = []
    for project in projects:
        for t in sorted(project.trials, key=lambda t: t["number"]):
            if t["status"] in ("FAILED", "INVALID") and t["message"]:
                last = [line for line in str(t["message"]).strip().splitlines() if line.strip()]
                last_line = shorten(last[-1] if last else "", 160)
                rows.append([project.name, t["number"], t["status"].lower(), last_line])
    if not rows:
        return ""
    header = ["project", "trial", "status", "last error line"]
    return "<h2>Failed trials</h2>" + _table(header, rows)


def _table(header, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 1.5rem auto; padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }}
h2 {{ font-size: 1.15rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem;
      margin-top: 1.8rem; }}
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
