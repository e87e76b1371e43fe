"""`nasplug demo`: a real architecture search on scikit-learn's digits, in a minute or two.

The 8×8 images of hand-written digits that ship with scikit-learn (1,797 of them) are split
into training and test parts; `NASClassifier` searches network architectures on the
training part with the predictor strategy (regularized evolution ranked by a Gaussian
process), the best network is scored on the test part,
and the model and an HTML report of the search are saved.
"""

import os
import time

import numpy as np

from nasplug.cli import _args, _quiet


def add_arguments(parser):
    _args.add_strategy(parser)
    _args.add_strategy_arguments(parser)
    _args.add_budget(parser, max_trials=8, epochs=10, why=", short for a demo of a minute or two")
    _args.add_output(
        parser, os.path.join("nasplug_runs", "demo"), "where the model, search and report go"
    )
    _args.add_seed(parser, "seed of the split and the search")
    _args.add_overwrite(parser)
    _args.add_quiet(parser)


def run(args):
    _args.check_output_directory(args.output)
    strategy_params = _args.strategy_params(args.strategy, args.strategy_arg)
    _quiet.import_tensorflow()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from nasplug import report
    from nasplug.cli.search import best_trial_number, fit_resuming
    from nasplug.sklearn import NASClassifier

    digits = load_digits()
    x = digits.data.astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.25, random_state=args.seed, stratify=digits.target
    )
    search_dir = os.path.join(args.output, "search")
    print(
        f"nasplug demo: searching {_args.plural(args.max_trials, 'network architecture')} "
        "for scikit-learn's "
        f"digits ({len(x_train)} training images, {len(x_test)} test images) with "
        f"{args.strategy}."
    )
    classifier = NASClassifier(
        strategy=args.strategy,
        max_trials=args.max_trials,
        epochs=args.epochs,
        directory=search_dir,
        overwrite=args.overwrite,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        strategy_params=strategy_params,
        screening=_args.SCREENING_CHOICES[args.screening],
    )
    start = time.perf_counter()
    earlier = fit_resuming(classifier, x_train, y_train, "run the same command again")
    seconds = time.perf_counter() - start
    accuracy = float(classifier.score(x_test, y_test))

    os.makedirs(args.output, exist_ok=True)
    model_path = os.path.join(args.output, "model.keras")
    classifier.best_model_.save(model_path)
    report_path = report.write_report(
        search_dir,
        output=os.path.join(args.output, "report.html"),
        title=f"nasplug demo: {args.strategy} on digits",
        model=model_path,
    )
    completed = sum(1 for r in classifier.search_results_ if r["status"] == "COMPLETED")
    print()
    print(
        f"Searched {_args.plural(completed, 'architecture')} in {seconds:.0f} s"
        + (f" ({earlier} of the trials in an earlier run)." if earlier else ".")
    )
    print(f"Best architecture (trial {best_trial_number(classifier)}):")
    for name, value in classifier.best_params_.items():
        print(f"  {name} = {value}")
    print(f"  parameters: {classifier.best_model_.count_params():,}")
    print(f"Validation accuracy: {classifier.best_score_:.4f}")
    print(f"Test accuracy: {accuracy:.4f} on {len(y_test)} held-out digits")
    print(f"Model saved to {model_path}")
    print(f"Report saved to {report_path}")
    return 0
