"""nasplug without its Ray and Optuna extras: nothing imports them, and the integrations
say which extra to install.

Each check runs in a fresh interpreter in which `ray` and `optuna` cannot be imported
(as where they are not installed), whether or not this environment has them.
"""

import os
import subprocess
import sys

import pytest

BLOCK = """
import sys
for name in ("ray", "optuna"):
    sys.modules[name] = None  # `import ray` now raises ImportError, as if not installed
"""


def run(code):
    return subprocess.run(
        [sys.executable, "-c", BLOCK + code],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )


def test_nasplug_and_its_strategies_need_neither_engine():
    result = run(
        "import nasplug, nasplug.integrations, nasplug.tuners\n"
        "from nasplug.oracles import make_oracle\n"
        "import keras_tuner as kt\n"
        "make_oracle('evolution', objective=kt.Objective('score', 'max'))\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


@pytest.mark.parametrize("engine", ["ray", "optuna"])
def test_an_integration_names_the_extra_to_install(engine):
    result = run(f"import nasplug.integrations.{engine}\n")
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert f"pip install 'nasplug[{engine}]'" in result.stderr


@pytest.mark.slow
def test_a_search_on_ray_without_ray_names_the_extra_to_install():
    result = run(
        "from sklearn.datasets import load_iris\n"
        "from nasplug import NASClassifier\n"
        "X, y = load_iris(return_X_y=True)\n"
        "try:\n"
        "    NASClassifier(backend='ray', max_trials=1, epochs=1).fit(X, y)\n"
        "except ImportError as error:\n"
        "    print('refused:', error)\n"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: backend='ray' runs the search's trials on Ray" in result.stdout
    assert "pip install 'nasplug[ray]'" in result.stdout
