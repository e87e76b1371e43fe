"""Zero-cost proxies on NAS-Bench-201: how well they rank cells, and what they buy a search.

`score` builds NAS-Bench-201's network around each cell (`CellBlock.nasbench201()`:
16 channels, five cells a stage, three stages, a 10-way softmax head compiled with
sparse cross-entropy), once per cell, and computes every proxy of `nasplug.proxies` on
it: naswot, jacob_cov, snip and grad_norm on one batch of 64 natural 32x32x3 images,
synflow on ones, params and flops. There is no CIFAR-10 offline: the images are random
32x32 crops of scikit-learn's two sample photographs (`load_sample_images`, china.jpg and
flower.jpg) shrunk four times, normalised per channel; their labels (for snip and
grad_norm) are the photograph and the horizontal fifth of it the crop comes from, 10
classes. Cells are scored in a seeded random order, so any prefix of the file is a
uniform sample of the space; rows are appended as they are computed, and a restarted run
skips the cells already in the file. Seconds are the process's CPU seconds on one thread.

`analyse` reads the scores with the table (`--data DIR`, the folder holding
`nasbench201/cifar10.csv.gz`; see `benchmarks/common.py`): Spearman rank correlation of each
proxy with the 200-epoch test accuracy, a NASWOT-style selection (the best-scoring of N
random cells, many repeats) and each strategy with a proxy warm start against the same
strategy without, on the simulated clock of `nasplug bench`, the proxy's time charged
to the budget.

    nohup python benchmarks/studies/zero_cost_proxies/run.py score &
    python benchmarks/studies/zero_cost_proxies/run.py pack
    python benchmarks/studies/zero_cost_proxies/run.py analyse --runs 500
"""

import argparse
import csv
import os
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[3]))  # the checkout
from benchmarks import common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCORES = os.path.join(HERE, "results", "nasbench201_proxies.csv.gz")
PARTIAL = os.path.join(HERE, "results", "nasbench201_proxies.partial.csv")
COLUMNS = (
    "arch",
    "naswot",
    "jacob_cov",
    "synflow",
    "snip",
    "grad_norm",
    "params",
    "flops",
    "build_s",
    "pass_s",
    "synflow_s",
    "naswot_s",
)
PROXY_COLUMNS = ("naswot", "jacob_cov", "synflow", "snip", "grad_norm", "params", "flops")
# NASWOT alone is timed on one cell in this many (a pass of its own), for the charge.
TIME_NASWOT_EVERY = 25


def sample_batch(size=64, seed=0, shrink=4):
    """Crops of scikit-learn's sample photographs as a CIFAR-like batch, with labels."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    photos = []
    for image in load_sample_images().images:
        h, w = (image.shape[0] // shrink) * shrink, (image.shape[1] // shrink) * shrink
        small = image[:h, :w].reshape(h // shrink, shrink, w // shrink, shrink, 3).mean((1, 3))
        photos.append(small.astype(np.float32) / 255.0)
    x, y = [], []
    for i in range(size):
        which = i % len(photos)
        photo = photos[which]
        top = int(rng.integers(photo.shape[0] - 32 + 1))
        left = int(rng.integers(photo.shape[1] - 32 + 1))
        x.append(photo[top : top + 32, left : left + 32])
        fifth = min(4, int(5 * (left + 16) / photo.shape[1]))
        y.append(which * 5 + fifth)
    x = np.stack(x)
    x = (x - x.mean(axis=(0, 1, 2))) / x.std(axis=(0, 1, 2))
    return x.astype(np.float32), np.array(y, dtype=np.int64)


def build_network(values, seed=0):
    """NAS-Bench-201's network around a cell, built by nasplug's `CellBlock`."""
    import keras
    import keras_tuner

    from nasplug.blocks.cell import CellBlock

    block = CellBlock.nasbench201(name="cell")
    hp = keras_tuner.HyperParameters()
    for name, op in values.items():
        hp.values[f"cell/{name}"] = op
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((32, 32, 3))
    outputs = keras.layers.Dense(10, activation="softmax")(block.build(hp, inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def score_cells(out, limit, seed, batch_size):
    import keras
    import tensorflow as tf
    from threadpoolctl import threadpool_limits

    from nasplug import proxies
    from nasplug.bench import nasbench201 as nb

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    threadpool_limits(1)
    x, y = sample_batch(batch_size, seed)
    archs = nb.cell_strings()
    order = np.random.default_rng(seed).permutation(len(archs))
    done = set()
    if os.path.exists(out):
        with open(out) as f:
            done = {row["arch"] for row in csv.DictReader(f)}
    new_file = not os.path.exists(out) or os.path.getsize(out) == 0
    clock = time.process_time
    count = len(done)
    with open(out, "a", newline="") as f:
        writer = csv.writer(f)
        if new_file:
            writer.writerow(COLUMNS)
        for position, index in enumerate(order):
            if count >= limit:
                break
            arch = archs[index]
            if arch in done:
                continue
            start = clock()
            model = build_network(nb.parse_arch(arch), seed)
            built = clock()
            found = proxies.score(model, x, y, proxies=[p for p in PROXY_COLUMNS if p != "synflow"])
            passed = clock()
            found["synflow"] = proxies.synflow(model, x)
            synflow_s = clock() - passed
            naswot_s = ""
            if position % TIME_NASWOT_EVERY == 0:
                again = clock()
                proxies.naswot(model, x)
                naswot_s = f"{clock() - again:.4f}"
            writer.writerow(
                [arch]
                + [repr(float(found[p])) for p in PROXY_COLUMNS]
                + [f"{built - start:.4f}", f"{passed - built:.4f}", f"{synflow_s:.4f}", naswot_s]
            )
            f.flush()
            count += 1
            del model
            if count % 20 == 0:
                # Thousands of networks: Keras's global names and graph state grow.
                keras.backend.clear_session(free_memory=True)


def pack(partial, out):
    """Writes the partial file's rows, in the order computed, as a gzipped CSV."""
    import pandas as pd

    frame = pd.read_csv(partial)
    frame.to_csv(out, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"{len(frame)} cells -> {out}")


# Published figures on NAS-Bench-201 CIFAR-10, quoted in issue #34: Spearman rank
# correlation with final test accuracy, and the test accuracy of NASWOT's pick of N.
PUBLISHED_SPEARMAN = {
    "naswot": "0.7-0.8 (Mellor et al. 2021)",
    "best of Abdelfattah et al. 2021": "0.82",
}
PUBLISHED_SELECTION = {10: "92.44 ± 1.13", 100: "92.81 ± 0.99", 1000: "92.96 ± 0.81"}
STRATEGIES = ("random", "evolution", "reinforce", "qlearning", "predictor")
BUDGETS = (1500.0, 3000.0, 12000.0)
# A selection of N needs this many times N scored cells to draw from.
SELECTION_SHARE = 10


def read_scores(path):
    import pandas as pd

    frame = pd.read_csv(path)
    # -inf: a singular kernel or a constant output, the worst a proxy can say.
    for column in PROXY_COLUMNS:
        frame[column] = frame[column].astype(float).replace(-np.inf, -1e300).fillna(-1e300)
    return frame


def correlations(frame, table):
    from scipy.stats import spearmanr

    from nasplug.bench import nasbench201 as nb

    index = {arch: i for i, arch in enumerate(nb.cell_strings())}
    rows = np.array([index[a] for a in frame["arch"]])
    test = table.test_acc_200ep[rows]
    found = {}
    for column in PROXY_COLUMNS:
        found[column] = float(spearmanr(frame[column], test).statistic)
    found["params_mb (table)"] = float(spearmanr(table.columns["params_mb"][rows], test).statistic)
    found["valid_acc_12ep (table)"] = float(spearmanr(table.valid_acc_12ep[rows], test).statistic)
    return found, test


def selection(frame, test, sizes, repeats, seed):
    """Test accuracy of the best-scoring of N random scored cells, for each proxy.

    Draws from the scored cells stand for draws from the space only while N is a small
    part of them: an N above a tenth of them is left out.
    """
    rng = np.random.default_rng(seed)
    found = {}
    for size in sizes:
        if size * SELECTION_SHARE > len(frame):
            continue
        picks = {column: [] for column in PROXY_COLUMNS}
        for _ in range(repeats):
            chosen = rng.choice(len(frame), size=size, replace=False)
            for column in PROXY_COLUMNS:
                values = frame[column].to_numpy()[chosen]
                picks[column].append(test[chosen[int(np.argmax(values))]])
        found[size] = {c: (float(np.mean(v)), float(np.std(v))) for c, v in picks.items()}
    return found


class TableScorer:
    """Looks a cell's proxy score up; charges its cost to the search's simulated clock.

    Cells without a score are declined (None): the oracle draws another, so a file
    covering a uniform sample of the space serves as scoring that sample.
    """

    def __init__(self, scores, cost_s):
        self.scores = scores
        self.cost_s = cost_s
        self.tuner = None

    def __call__(self, hyperparameters, proxy):
        from nasplug.bench import nasbench201 as nb

        value = self.scores.get(nb.arch_string(hyperparameters.values))
        if value is not None and self.tuner is not None:
            self.tuner.elapsed_s += self.cost_s
        return value


def warm_start_run(table, scores, strategy, seed, candidates, cost_s):
    """One search on the table's clock; returns the test accuracy curve at `BUDGETS`."""
    import shutil
    import tempfile

    import keras_tuner

    from nasplug import proxies
    from nasplug.bench.benchmark import best_so_far_curve
    from nasplug.bench.protocol import TableTuner
    from nasplug.oracles import make_oracle

    kwargs = dict(
        objective=keras_tuner.Objective(table.objective, "max"),
        max_trials=None,
        seed=int(seed),
        hyperparameters=table.search_space(),
    )
    if candidates and strategy == "proxy":
        kwargs["candidates"] = candidates
    elif candidates:
        kwargs["proxy_warm_start"] = candidates
    oracle = make_oracle(strategy, **kwargs)
    oracle.verbose = 0
    scorer = TableScorer(scores, cost_s)
    proxies.give_scorer(oracle, scorer)
    scratch = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    workdir = tempfile.mkdtemp(prefix="nasplug-proxies-", dir=scratch)
    try:
        tuner = TableTuner(
            oracle, table, budget_s=max(BUDGETS), directory=workdir, project_name="p"
        )
        scorer.tuner = tuner
        tuner.search()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not tuner.history:
        return np.full(len(BUDGETS), np.nan)
    return best_so_far_curve(tuner.history, np.array(BUDGETS))


def analyse(args):
    from nasplug.bench import nasbench201 as nb

    table = nb.load_table(common.data_file(args.data, "nasbench201", "cifar10.csv.gz"))
    print(common.header(), flush=True)
    frame = read_scores(args.scores)
    n = len(frame)
    print(
        f"{n} of {nb.NUM_CELLS} cells scored ({os.path.basename(args.scores)}); "
        "batch of 64 crops of scikit-learn's sample images"
    )
    seconds = frame[["build_s", "pass_s", "synflow_s"]].mean()
    naswot_s = frame["naswot_s"].dropna()
    cost = float(frame["build_s"].mean() + naswot_s.mean())
    print(
        f"CPU s per cell (one thread): build {seconds['build_s']:.2f}, naswot+jacob_cov+snip+"
        f"grad_norm pass {seconds['pass_s']:.2f}, synflow {seconds['synflow_s']:.2f}; "
        f"NASWOT alone {naswot_s.mean():.2f} ({len(naswot_s)} cells timed), so {cost:.2f} s "
        "per NASWOT-scored cell with its build"
    )
    found, test = correlations(frame, table)
    print("\nSpearman rank correlation with test_acc_200ep")
    for name, value in found.items():
        print(f"  {name:24s} {value:+.3f}")
    print(f"  published: {PUBLISHED_SPEARMAN}")
    picked = selection(frame, test, (10, 100, 1000), args.repeats, args.seed)
    print(
        f"\nBest of N random scored cells by each proxy, test accuracy (mean ± std, "
        f"{args.repeats} repeats, drawn from the {n} scored)"
    )
    print("  N     " + "".join(f"{c:>16s}" for c in PROXY_COLUMNS) + "   Mellor et al. naswot")
    for size, by_proxy in picked.items():
        cells = "".join(f"{m:9.2f} ± {s:4.2f}" for m, s in by_proxy.values())
        print(f"  {size:<5d} {cells}   {PUBLISHED_SELECTION[size]}")
    for size in (10, 100, 1000):
        if size not in picked:
            print(
                f"  {size:<5d} not computed: needs {SELECTION_SHARE * size} scored cells, {n} are"
            )
    if args.runs:
        warm_starts(args, table, frame, cost)


def warm_starts(args, table, frame, cost):
    from nasplug.bench.benchmark import run_seeds

    scores = dict(zip(frame["arch"], frame["naswot"].astype(float)))
    candidates = args.warm_start
    print(
        f"\nWarm start: the best of {candidates} NASWOT-scored cells first (proxy search: "
        f"rounds of {candidates}), {cost:.2f} s charged per scored cell; {args.runs} runs, "
        "test accuracy of the best-by-signal cell (mean ± s.e.)"
    )
    print("  strategy       " + "".join(f"{b:>26.0f}" for b in BUDGETS))
    seeds = run_seeds(args.seed, args.runs)
    for strategy in STRATEGIES + ("proxy",):
        # KerasTuner's random search has no warm start: the proxy search is its analogue.
        warms = {"random": (0,), "proxy": (candidates,)}.get(strategy, (0, candidates))
        for warm in warms:
            curves = np.array(
                [warm_start_run(table, scores, strategy, s, warm, cost) for s in seeds]
            )
            mean = np.nanmean(curves, axis=0)
            se = np.nanstd(curves, axis=0) / np.sqrt(np.sum(np.isfinite(curves), axis=0))
            label = strategy + (f" +ws{warm}" if warm and strategy != "proxy" else "")
            if strategy == "proxy":
                label = f"proxy ({warm})"
            print(f"  {label:15s}" + "".join(f"{m:18.2f} ± {e:5.2f}" for m, e in zip(mean, se)))
            sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="compute the proxies of the cells")
    score.add_argument("--out", default=PARTIAL, help="CSV file the rows are appended to")
    score.add_argument("--limit", type=int, default=15625, help="stop at this many cells")
    score.add_argument("--seed", type=int, default=0)
    score.add_argument("--batch-size", type=int, default=64)
    packer = commands.add_parser("pack", help="compress the partial file into the data file")
    packer.add_argument("--partial", default=PARTIAL)
    packer.add_argument("--out", default=SCORES)
    analysis = commands.add_parser("analyse", help="correlations, selection, warm starts")
    common.add_data_argument(analysis)
    analysis.add_argument("--scores", default=SCORES if os.path.exists(SCORES) else PARTIAL)
    analysis.add_argument("--repeats", type=int, default=500, help="repeats of each selection")
    analysis.add_argument("--runs", type=int, default=0, help="runs of each warm-start search")
    analysis.add_argument("--warm-start", type=int, default=100, help="candidates scored")
    analysis.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "score":
        score_cells(args.out, args.limit, args.seed, args.batch_size)
    elif args.command == "pack":
        pack(args.partial, args.out)
    else:
        analyse(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
