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

`analyse` reads the scores with the table (`--data`): Spearman rank correlation of each
proxy with the 200-epoch test accuracy, a NASWOT-style selection (the best-scoring of N
random cells, many repeats) and each strategy with a proxy warm start against the same
strategy without, on the simulated clock of `nasplug bench`, the proxy's time charged
to the budget.

    nohup nice python benchmarks/proxies_nasbench201.py score &
    python benchmarks/proxies_nasbench201.py analyse --runs 500
"""

import argparse
import csv
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# The shared data sits beside the repository, or beside the directory of its worktrees.
DATA_CANDIDATES = [
    os.path.join(HERE, *[".."] * up, "shared", "benchmarks", "nasbench201") for up in (2, 3)
]
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


def default_data():
    for path in DATA_CANDIDATES:
        if os.path.isfile(os.path.join(path, "cifar10.csv.gz")):
            return os.path.normpath(path)
    return os.path.normpath(DATA_CANDIDATES[0])


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
    args = parser.parse_args(argv)
    if args.command == "score":
        score_cells(args.out, args.limit, args.seed, args.batch_size)
    elif args.command == "pack":
        pack(args.partial, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
