"""An AutoKeras text classifier searched by regularized evolution, by tuner name.

After `nasplug.autokeras.enable()`, AutoKeras accepts "evolution", "reinforce" and
"qlearning" wherever it accepts "greedy" or "random". The data are short product
reviews made up here from a small vocabulary: the label is the sentiment of the words a
review contains.

    python examples/autokeras_text.py --max-trials 5 --epochs 5
"""

import argparse

import autokeras as ak
import numpy as np

import nasplug.autokeras

POSITIVE = ["good", "great", "lovely", "solid", "superb", "reliable", "happy"]
NEGATIVE = ["bad", "awful", "broken", "flimsy", "poor", "useless", "sad"]
NEUTRAL = ["the", "product", "was", "and", "a", "box", "price", "really", "quite", "it"]


def make_reviews(count, rng):
    """Reviews of seven words, two of them carrying the label's sentiment."""
    texts, labels = [], []
    for i in range(count):
        label = i % 2
        words = list(rng.choice(NEUTRAL, 5)) + list(rng.choice(POSITIVE if label else NEGATIVE, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(label)
    return np.array(texts), np.array(labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", default="runs/autokeras_text")
    parser.add_argument(
        "--strategy", choices=["evolution", "reinforce", "qlearning"], default="evolution"
    )
    parser.add_argument("--max-trials", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_reviews(args.samples, rng)
    x_test, y_test = make_reviews(max(args.samples // 4, 2), rng)

    nasplug.autokeras.enable()
    classifier = ak.TextClassifier(
        tuner=args.strategy,
        max_trials=args.max_trials,
        directory=args.directory,
        project_name=f"reviews_{args.strategy}",
        seed=args.seed,
    )
    classifier.fit(x_train, y_train, epochs=args.epochs, verbose=0)
    _, accuracy = classifier.evaluate(x_test, y_test, verbose=0)
    print(
        f"reviews {args.strategy} tuner={type(classifier.tuner).__name__} "
        f"trials={len(classifier.tuner.oracle.trials)} test_accuracy={accuracy:.4f}"
    )


if __name__ == "__main__":
    main()
