"""Per-trial overhead of the Ray and Optuna integrations against KerasTuner, side by side.

Every search runs the same strategy on the synthetic cell objective of the oracle tests
(tests/support/synthetic.py), which costs nothing to evaluate, so the time per trial is the
machinery's alone:

- KerasTuner: the oracle driven as a KerasTuner tuner drives it (`create_trial`,
  `update_trial`, `end_trial`, state files written to a project directory).
- NASSearch: the Ray searcher's `suggest` / `on_trial_result` / `on_trial_complete`,
  called as Ray's loop calls them (the searcher's own cost, without Ray's scheduling).
- NASSampler in memory / in SQLite: `study.optimize` with the sampler, next to Optuna's
  own `RandomSampler` on the same storage (Optuna's cost without any strategy).
- With `--ray`: whole `tune.Tuner.fit` runs on a local Ray instance, NASSearch against
  Ray's default random search, one trial at a time (Ray's per-trial scheduling).

    python benchmarks/integration_overhead.py --trials 100
    python benchmarks/integration_overhead.py --trials 100 --ray --ray-trials 20

Prints milliseconds per trial and each one's ratio to KerasTuner's.
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import keras_tuner as kt  # noqa: E402

from nasplug.oracles import make_oracle  # noqa: E402
from tests.support import synthetic  # noqa: E402
from tests.support.synthetic import OPS, cell_score, cell_space, drive  # noqa: E402


def define_by_run(trial):
    values = {"depth": trial.suggest_int("depth", 1, 3)}
    for cell in range(values["depth"]):
        values[f"cell{cell}_a"] = trial.suggest_categorical(f"cell{cell}_a", OPS)
        values[f"cell{cell}_b"] = trial.suggest_categorical(f"cell{cell}_b", OPS)
    values["width"] = trial.suggest_categorical("width", [16, 32, 64, 128])
    values["lr"] = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    return cell_score(values)


def kerastuner(strategy, trials, seed):
    oracle = make_oracle(
        strategy,
        objective=kt.Objective("score", "max"),
        hyperparameters=cell_space(),
        seed=seed,
        max_trials=trials,
    )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        drive(oracle, cell_score, trials, tmp)
        return time.perf_counter() - start


def ray_searcher(strategy, trials, seed):
    from nasplug.integrations.ray import NASSearch

    searcher = NASSearch(
        strategy, space=cell_space(), metric="score", mode="max", seed=seed, max_trials=trials
    )
    start = time.perf_counter()
    for i in range(trials):
        config = searcher.suggest(str(i))
        result = {"score": cell_score(config), "training_iteration": 1}
        searcher.on_trial_result(str(i), result)
        searcher.on_trial_complete(str(i), result)
    return time.perf_counter() - start


def optuna_study(sampler, trials, storage):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/study.db" if storage == "sqlite" else None
        study = optuna.create_study(direction="maximize", sampler=sampler, storage=url)
        start = time.perf_counter()
        study.optimize(define_by_run, n_trials=trials)
        return time.perf_counter() - start


def ray_tuner(searcher, trials, directory):
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    def trainable(config):
        tune.report({"score": cell_score(config)})

    space = {
        "depth": tune.randint(1, 4),
        "width": tune.choice([16, 32, 64, 128]),
        "lr": tune.loguniform(1e-4, 1e-1),
        **{f"cell{i}_{e}": tune.choice(OPS) for i in range(3) for e in "ab"},
    }
    config = tune.TuneConfig(num_samples=trials, reuse_actors=True, metric="score", mode="max")
    if searcher is not None:
        config.search_alg = ConcurrencyLimiter(searcher, 1)
    else:
        config.max_concurrent_trials = 1
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=config,
        run_config=tune.RunConfig(storage_path=directory, verbose=0),
    )
    start = time.perf_counter()
    tuner.fit()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="evolution")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ray", action="store_true", help="also time whole Tuner.fit runs")
    parser.add_argument("--ray-trials", type=int, default=20)
    args = parser.parse_args(argv)

    import optuna

    from nasplug.integrations.optuna import NASSampler

    n, s = args.trials, args.seed
    rows = [("KerasTuner (oracle + project files)", kerastuner(args.strategy, n, s), n)]
    rows.append(("NASSearch (Ray searcher calls)", ray_searcher(args.strategy, n, s), n))
    for storage in ("memory", "sqlite"):
        ours = optuna_study(NASSampler(args.strategy, seed=s), n, storage)
        plain = optuna_study(optuna.samplers.RandomSampler(seed=s), n, storage)
        rows.append((f"NASSampler, Optuna {storage}", ours, n))
        rows.append((f"  Optuna RandomSampler, {storage}", plain, n))
    if args.ray:
        import ray

        from nasplug.integrations.ray import NASSearch

        ray.cloudpickle.register_pickle_by_value(synthetic)
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        with tempfile.TemporaryDirectory() as tmp:
            k = args.ray_trials
            searcher = NASSearch(args.strategy, seed=s)
            rows.append(("Ray Tuner.fit with NASSearch", ray_tuner(searcher, k, tmp), k))
            rows.append(("  Ray Tuner.fit, Ray's random search", ray_tuner(None, k, tmp), k))
        ray.shutdown()

    base = rows[0][1] / rows[0][2]
    print(f"strategy {args.strategy}, synthetic objective, seed {s}")
    print(f"{'search':42s} {'trials':>6s} {'ms/trial':>9s} {'x KerasTuner':>13s}")
    for name, seconds, count in rows:
        per = seconds / count
        print(f"{name:42s} {count:6d} {1000 * per:9.2f} {per / base:13.2f}")


if __name__ == "__main__":
    main()
