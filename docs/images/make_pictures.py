"""Draws the report pictures of the documentation from a tiny real search.

A regularized-evolution search of 16 trials over a layer chain (`LayerChainBlock`) on
scikit-learn's digits read as signals of 8 steps, 3 epochs a trial, written to a temporary
directory; `nasplug.report.write_report` draws its report, and the figures the
documentation shows are cut out of it as PNG files next to this script.

    python docs/images/make_pictures.py
"""

import base64
import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import nasplug  # noqa: E402
from nasplug.blocks import LayerChainBlock  # noqa: E402
from nasplug.report import write_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# Report section -> picture file.
PICTURES = {
    "Score by trial": "report-scores.png",
    "Score against model size": "report-size.png",
    "Which decisions mattered": "report-importance.png",
    "Best architecture": "report-architecture.png",
}


def build_model(hp):
    inputs = keras.Input((8, 8))
    features = LayerChainBlock(name="chain", layer_types=["conv", "pool", "dense"]).build(
        hp, inputs
    )
    outputs = keras.layers.Dense(10, activation="softmax")(features)
    model = keras.Model(inputs, outputs)
    learning_rate = hp.Choice("learning_rate", [1e-3, 1e-2, 1e-4])
    model.compile(
        keras.optimizers.Adam(learning_rate),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def figures(html):
    """(section title, PNG bytes) of every figure of a report page, in order."""
    title = None
    for match in re.finditer(
        r"<h2[^>]*>(.*?)</h2>|<img[^>]*src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"", html
    ):
        if match.group(1):
            title = match.group(1)
        else:
            yield title, base64.b64decode(match.group(2))


def main():
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).reshape(-1, 8, 8).astype("float32")
    with tempfile.TemporaryDirectory() as directory:
        tuner = nasplug.EvolutionSearch(
            build_model,
            objective="val_accuracy",
            max_trials=16,
            seed=0,
            directory=directory,
            project_name="digits_chain",
        )
        tuner.search(x, y, validation_split=0.25, epochs=3, verbose=0)
        page = write_report(os.path.join(directory, "digits_chain"))
        with open(page, encoding="utf-8") as f:
            html = f.read()
    written = []
    for title, png in figures(html):
        name = PICTURES.get(title)
        if name and name not in written:
            with open(os.path.join(HERE, name), "wb") as f:
                f.write(png)
            written.append(name)
            print(f"{name}: {title}, {len(png) // 1024} KiB")
    missing = sorted(set(PICTURES.values()) - set(written))
    if missing:
        print(f"not drawn by this search: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
