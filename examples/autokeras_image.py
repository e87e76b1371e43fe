"""An AutoKeras image classifier on scikit-learn's 8x8 digits, searched by REINFORCE.

`nasplug.autokeras.ReinforceTuner` replaces AutoKeras's own image tuner: it first tries
the architectures that tuner starts from (a small CNN, then ResNet50 and EfficientNetB7),
then samples architectures from a policy it learns from every trial. The best model is
exported as a plain Keras model and saved.

    python examples/autokeras_image.py --max-trials 10 --epochs 10

The ResNet and EfficientNet starting points resize the images to ImageNet size and are
slow on a CPU; with `--max-trials 1` only the small CNN is tried. EfficientNetB7 wants
its ImageNet weights: without network access that trial fails and the search goes on.
"""

import argparse
import os

import autokeras as ak
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import nasplug.autokeras


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", default="runs/autokeras_image")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1797, help="digits used, of 1797")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = load_digits()
    images = digits.images[: args.samples, :, :, None].astype("float32") / 16.0
    labels = digits.target[: args.samples]
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.25, random_state=args.seed, stratify=labels
    )
    classifier = ak.ImageClassifier(
        tuner=nasplug.autokeras.ReinforceTuner,
        max_trials=args.max_trials,
        directory=args.directory,
        project_name="digits",
        seed=args.seed,
    )
    classifier.fit(x_train, y_train, epochs=args.epochs, verbose=0)
    predicted = np.ravel(classifier.predict(x_test, verbose=0)).astype(int)
    accuracy = float(np.mean(predicted == y_test))
    print(
        f"digits reinforce trials={len(classifier.tuner.oracle.trials)} "
        f"test_accuracy={accuracy:.4f}"
    )

    model = classifier.export_model()
    path = os.path.join(args.directory, "digits_best.keras")
    model.save(path)
    print(f"saved {path} ({model.count_params()} parameters)")


if __name__ == "__main__":
    main()
