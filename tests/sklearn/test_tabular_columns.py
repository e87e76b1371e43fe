"""The column detection of tables (`nasplug.sklearn._tabular.columns`) needs no Keras.

Each check runs in a fresh interpreter, where nothing has imported Keras yet.
"""

import os
import subprocess
import sys

import pytest

import nasplug.sklearn._tabular.columns as columns_module

HEAVY = ("keras", "tensorflow")


def imported_after(code):
    """The modules of `HEAVY` a fresh interpreter holds after running `code`."""
    check = f"{code}\nimport sys\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", check],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


def test_the_module_imports_no_keras():
    # The file on its own, so what its package's __init__ imports does not count.
    code = (
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('columns', {columns_module.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "import pandas as pd\n"
        "frame = pd.DataFrame({'n': [1.0, None], 't': ['a', None]})\n"
        "mask = module.categorical_mask(frame, 'auto', ['n', 't'])\n"
        "assert mask == [False, True], mask\n"
        "assert module.table_rows(frame, mask, ['n', 't'])[:, 1].tolist() == ['a', '']\n"
    )
    assert imported_after(code) == []


@pytest.mark.xfail(
    strict=True,
    reason="nasplug/sklearn/__init__.py imports the estimators, hence Keras, eagerly; "
    "a lazy __init__ (estimator branch) makes this pass",
)
def test_importing_it_by_name_loads_no_keras():
    assert imported_after("import nasplug.sklearn._tabular.columns") == []
