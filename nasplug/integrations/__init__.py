"""nasplug's search strategies inside other tuning engines.

`nasplug.integrations.ray.NASSearch` runs any registered strategy as a Ray Tune searcher;
`nasplug.integrations.optuna.NASSampler` runs it as an Optuna sampler. Each drives the
strategy's KerasTuner oracle in the engine's process, so the strategy proposes exactly as
it does under KerasTuner, while the engine schedules, distributes and stores the trials.

Neither engine is a dependency of nasplug: install the extra you use
(`pip install "nasplug[ray]"`, `pip install "nasplug[optuna]"`). Importing this package
imports neither.
"""
