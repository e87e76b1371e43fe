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
    # 100 rows: trials are cross-validated over 3 folds of about 67 training rows (`cv`),
    # about the training of one held-out trial on 240 rows.
    namespace = {"X_train": x[:100], "y_train": y[:100], "X_test": x[100:160], "pandas": pandas}
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
    assert len(namespace["search"].search_results_) == 10
