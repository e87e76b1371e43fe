"""The benchmark's results as a plain-text table and as a plot of best-so-far curves."""

import os

import numpy as np

from nasplug.bench._statistics import difference_to


def format_table(results):
    """Formats `run_benchmark` results as a plain-text table.

    Args:
        results: The dict `run_benchmark` returns.

    Returns:
        A string: one line per strategy with mean ± std over runs of the 200-epoch
        validation and test accuracy, the difference of its mean test accuracy to
        random search's with the standard error of that difference (when "random" was
        run), the published test accuracy beside it, queries per run and CPU seconds
        per run (the search's own cost, whatever else the machine runs).
    """
    name = os.path.basename(results["table"])
    if "objectives" in results:
        return _format_multi_objective(results, name)
    random = results["strategies"].get("random")
    lines = [
        f"NAS-Bench-201 {name}: budget {results['budget_s']:.0f} s, seed {results['seed']}, "
        f"{results['wall_s']:.0f} s wall",
        f"{'strategy':<10} {'runs':>5} {'valid_acc_200ep':>16} {'test_acc_200ep':>16} "
        f"{'vs random ± se':>15} {'published test':>24} {'queries':>8} {'cpu s/run':>9}",
    ]
    for strategy, s in results["strategies"].items():
        pub = s["published"]
        pub_text = (
            ""
            if pub is None
            else (
                f"{pub['test_acc_200ep']['mean']:.2f} ± {pub['test_acc_200ep']['std']:.2f} "
                f"{pub['algorithm']}"
            )
        )
        lines.append(
            f"{strategy:<10} {s['runs']:>5} {_pm(s['valid_acc_200ep']):>16} "
            f"{_pm(s['test_acc_200ep']):>16} {_versus(s, random):>15} {pub_text:>24} "
            f"{s['queries']['mean']:>8.1f} {s['cpu_s'] / s['runs']:>9.3f}"
        )
    opt = results["optimum"]
    lines.append(
        f"{'optimum':<10} {'':>5} {opt['valid_acc_200ep']:>16.2f} {opt['test_acc_200ep']:>16.2f}"
    )
    return "\n".join(lines)


def _format_multi_objective(results, name):
    columns = results["reported_columns"]
    reference = ", ".join(f"{c} {v:g}" for c, v in zip(columns, results["reference_point"]))
    lines = [
        f"NAS-Bench-201 {name}: objectives {', '.join(results['objectives'])}, budget "
        f"{results['budget_s']:.0f} s, seed {results['seed']}, {results['wall_s']:.0f} s wall",
        f"front scored in {' vs '.join(columns)}; reference point ({reference}); true front "
        f"{results['true_front_size']} cells, hypervolume {results['true_front_hypervolume']:.6g}",
        f"{'strategy':<13} {'runs':>5} {'hypervolume ratio':>18} {'vs random ± se':>16} "
        f"{'vs NSGA-II ± se':>16} {'front size':>10} {'queries':>8} {'cpu s/run':>9}",
    ]
    for strategy, s in results["strategies"].items():
        ratio = s["hypervolume_ratio"]
        lines.append(
            f"{strategy:<13} {s['runs']:>5} {ratio['mean']:>9.4f} ± {ratio['std']:.4f} "
            f"{_difference(s.get('vs_random')):>16} {_difference(s.get('vs_optuna_nsga2')):>16} "
            f"{s['front_size']['mean']:>10.1f} {s['queries']['mean']:>8.1f} "
            f"{s['cpu_s'] / s['runs']:>9.3f}"
        )
    return "\n".join(lines)


def _versus(summary, random):
    if random is None or summary is random:
        return ""
    difference, se = difference_to(summary, random)
    return f"{difference:+.2f} ± {se:.2f}"


def _difference(entry):
    return "" if entry is None else f"{entry['difference']:+.4f} ± {entry['se']:.4f}"


def _pm(stat):
    return f"{stat['mean']:.2f} ± {stat['std']:.2f}"


def plot(results, path):
    """Plots best-so-far 200-epoch test accuracy against simulated time.

    One line per strategy (mean over runs) with a band of ± one standard deviation.

    Args:
        results: The dict `run_benchmark` returns.
        path: Image file to write (format from its extension, e.g. `.png`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for strategy, s in results["strategies"].items():
        t = np.array(s["curve"]["time_s"])
        mean = np.array(s["curve"]["mean"], dtype=float)
        std = np.array(s["curve"]["std"], dtype=float)
        (line,) = ax.plot(t, mean, label=f"{strategy} ({s['runs']} runs)")
        ax.fill_between(t, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("simulated search time (s)")
    if "objectives" in results:
        ax.axhline(1.0, color="black", linestyle=":", linewidth=1, label="true front")
        finals = [s["hypervolume_ratio"]["mean"] for s in results["strategies"].values()]
        ax.set_ylim(min(finals) - 0.1, 1.01)
        ax.set_ylabel(f"hypervolume ratio ({' vs '.join(results['reported_columns'])})")
    else:
        opt = results["optimum"]["test_acc_200ep"]
        ax.axhline(opt, color="black", linestyle=":", linewidth=1, label=f"optimum {opt:.2f}")
        finals = [s["test_acc_200ep"]["mean"] for s in results["strategies"].values()]
        ax.set_ylim(min(finals) - 2.0, opt + 0.5)
        ax.set_ylabel("test accuracy, 200 epochs (%)")
    ax.set_title(f"NAS-Bench-201 {os.path.basename(results['table'])}: best so far")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
