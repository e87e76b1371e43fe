"""The README's Python snippets run as written, one namespace for the page, like a notebook.

The scikit-learn snippet works on `X_train` / `y_train` / `X_test`, which the README leaves
to the reader: they are a small part of scikit-learn's digits here.
"""

import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def snippets():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def test_readme_has_snippets():
    assert len(snippets()) >= 4


@pytest.mark.slow
def test_readme_snippets_run(tmp_path, monkeypatch):
    import pandas
    from sklearn.datasets import load_digits

    import nasplug.autokeras

    monkeypatch.chdir(tmp_path)
    x, y = load_digits(return_X_y=True)
    # 500 rows, the fewest on which the default `cv="auto"` scores each trial on one
    # held-out part (100 rows) rather than 3 folds: one training a trial, and one refit.
    namespace = {"X_train": x[:500], "y_train": y[:500], "X_test": x[500:560], "pandas": pandas}
    try:
        for number, code in enumerate(snippets(), start=1):
            try:
                exec(compile(code, f"README.md snippet {number}", "exec"), namespace)
            except Exception as error:
                raise AssertionError(
                    f"README snippet {number} failed: {error!r}\n{code}"
                ) from error
    finally:
        nasplug.autokeras.disable()
    assert namespace["best_model"].count_params() > 0
    search = namespace["search"]
    assert len(search.search_results_) == 10
    assert search.ensemble_size_ == 1  # held out, not cross-validated: one refit
