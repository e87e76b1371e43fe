"""What a benchmark reports of many runs: means, spreads, curves and differences."""

import numpy as np

from nasplug.bench import multi_objective as mo

# Strategies every other one is compared with when they were run: random search, and the
# outside baseline of a multi-objective benchmark.
BASELINES = ("random", mo.OPTUNA_NSGA2)


def summarise(results, curves, grid, keys, published):
    """One strategy's entry of the benchmark's results.

    Args:
        results: The runs' results, in run order (dicts holding `keys`, `wall_s`, `cpu_s`).
        curves: Array (runs, len(grid)) of the runs' curves.
        grid: The simulated times of the curves.
        keys: The results' keys to summarise by mean and std.
        published: `(algorithm, mean, std)` of a published test accuracy, or None.

    Returns:
        A JSON-safe dict: `runs`, each key's `mean` and `std`, `wall_s` and `cpu_s`
        (summed), `published` and `curve`.
    """
    return {
        "runs": len(results),
        **{key: _mean_std([r[key] for r in results]) for key in keys},
        "wall_s": float(sum(r["wall_s"] for r in results)),
        "cpu_s": float(sum(r["cpu_s"] for r in results)),
        "published": None
        if published is None
        else {
            "algorithm": published[0],
            "test_acc_200ep": {"mean": published[1], "std": published[2]},
        },
        "curve": _curve_summary(grid, curves),
    }


def compare_to_baselines(summary, score):
    """Adds `vs_<baseline>` (difference of the mean score, standard error) to every other
    strategy's entry, for each of `BASELINES` that was run."""
    for baseline in BASELINES:
        if baseline not in summary:
            continue
        for name, entry in summary.items():
            if name != baseline:
                difference, se = difference_to(entry, summary[baseline], score)
                entry[f"vs_{baseline}"] = {"difference": difference, "se": se}


def difference_to(summary, reference, score="test_acc_200ep"):
    """Difference of a mean score to a reference strategy's, with its standard error.

    The runs of two strategies are independent searches (run `i` of each shares a seed,
    but not what the seed draws), so the standard error is that of a difference of two
    independent means, `sqrt(std_a**2 / runs_a + std_b**2 / runs_b)`.

    Args:
        summary: One strategy's entry of `run_benchmark(...)["strategies"]`.
        reference: Another strategy's entry.
        score: The entry's key of the score compared ("hypervolume_ratio" in a
            multi-objective benchmark).

    Returns:
        (difference, standard error), in the score's units.
    """
    a, b = summary[score], reference[score]
    se = (a["std"] ** 2 / summary["runs"] + b["std"] ** 2 / reference["runs"]) ** 0.5
    return a["mean"] - b["mean"], se


def _curve_summary(grid, curves):
    # Until every run has finished its first query a mean would be over a few lucky
    # runs only; those times stay empty.
    mean, std = curves.mean(axis=0), curves.std(axis=0)
    return {
        "time_s": [float(t) for t in grid],
        "mean": [float(v) if np.isfinite(v) else None for v in mean],
        "std": [float(v) if np.isfinite(v) else None for v in std],
    }


def _mean_std(values):
    values = np.asarray(values, dtype=float)
    return {"mean": float(values.mean()), "std": float(values.std())}
