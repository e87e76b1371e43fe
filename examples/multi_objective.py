"""Accuracy against latency: a Pareto search with a size limit, on scikit-learn's digits.

`NASClassifier(objectives=("accuracy", "latency"), max_params=...)` searches networks
that are both accurate and fast on this machine, and keeps none larger than
`max_params`. It prints the Pareto front it found (accuracy on the validation part,
milliseconds to predict one image, parameters), plots it with the chosen network
starred, writes the search report, and checks that the kept network meets the limit.

    python examples/multi_objective.py
    python examples/multi_objective.py --max-trials 4 --epochs 2   # a quick look
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from nasplug import NASClassifier, report  # noqa: E402


def main(max_trials=12, epochs=10, max_params=20_000, output=None, verbose=1):
    """Runs the example; returns the fitted classifier and its held-out accuracy."""
    output = output or tempfile.mkdtemp(prefix="nasplug-pareto-")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, stratify=y, random_state=0
    )
    clf = NASClassifier(
        strategy="evolution",
        objectives=("accuracy", "latency"),
        max_params=max_params,
        max_trials=max_trials,
        epochs=epochs,
        directory=os.path.join(output, "search"),
        random_state=0,
        verbose=verbose,
    )
    clf.fit(X_train, y_train)

    # The size limit makes every trial record its parameter count beside the objectives.
    front = pd.DataFrame(clf.pareto_front_)
    print(
        f"\nPareto front of {len(clf.search_results_)} trials (accuracy on validation data, "
        "latency in ms for one image on this machine):"
    )
    print(
        front[["trial_id", "accuracy", "latency", "params", "constraint_violation"]].to_string(
            index=False
        )
    )
    kept = clf.best_model_.count_params()
    test_accuracy = clf.score(X_test, y_test)
    print(
        f"\nKept trial {clf.best_trial_id_} (the most accurate network of the front): "
        f"{kept:,} parameters (limit {max_params:,}), test accuracy {test_accuracy:.4f}"
    )
    assert kept <= max_params, "the kept network breaks max_params"

    plot_path = os.path.join(output, "front.png")
    _plot(clf, plot_path)
    report_path = report.write_report(
        os.path.join(output, "search"),
        output=os.path.join(output, "report.html"),
        title="Accuracy against latency on digits",
        chosen=clf.best_trial_id_,
    )
    print(f"Front plotted in {plot_path}; report in {report_path}")
    return clf, test_accuracy


def _plot(clf, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = [r for r in clf.search_results_ if r["status"] == "COMPLETED"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for feasible, style in (
        (True, dict(color="#1f77b4", label="trial")),
        (False, dict(color="grey", marker="x", label=f"over {clf.max_params:,} parameters")),
    ):
        chosen = [r for r in trials if (r["constraint_violation"] == 0) == feasible]
        if chosen:
            ax.scatter([r["latency"] for r in chosen], [r["accuracy"] for r in chosen], **style)
    front = sorted(clf.pareto_front_, key=lambda r: r["latency"])
    ax.step(
        [r["latency"] for r in front],
        [r["accuracy"] for r in front],
        where="post",
        color="black",
        linewidth=1,
    )
    best = next(r for r in front if r["trial_id"] == clf.best_trial_id_)
    ax.scatter(
        [best["latency"]],
        [best["accuracy"]],
        marker="*",
        s=250,
        color="#ff7f0e",
        edgecolors="black",
        zorder=5,
        label="kept",
    )
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms per image, log scale (lower is better)")
    ax.set_ylabel("validation accuracy (higher is better)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--max-params", type=int, default=20_000)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    main(args.max_trials, args.epochs, args.max_params, args.output)
