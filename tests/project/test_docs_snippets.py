"""Every Python snippet of the README and the documentation runs as written.

The snippets of one page run in order in one namespace, like a notebook, in a temporary
directory. Pages whose snippets train networks are `slow`; the others run in the fast tier.
"""

import os
import re
import sys

import pytest

from tests.support import REPO

SNIPPET = re.compile(r"^```python\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)
# Code fences that look like Python but would not be run.
UNRUN = re.compile(r"^```(?:py|python3|pycon)\s*$", flags=re.MULTILINE)
# Pages whose snippets train nothing.
FAST = {"docs/spaces.md"}


def pages():
    found = ["README.md"]
    for directory, _, names in os.walk(os.path.join(REPO, "docs")):
        found += [
            os.path.relpath(os.path.join(directory, name), REPO)
            for name in sorted(names)
            if name.endswith(".md")
        ]
    return sorted(found)


def read(page):
    with open(os.path.join(REPO, page), encoding="utf-8") as f:
        return f.read()


def snippets(page):
    return SNIPPET.findall(read(page))


PAGES_WITH_SNIPPETS = [page for page in pages() if snippets(page)]


def test_snippets_are_found():
    assert len(snippets("README.md")) == 3
    for page in ("docs/guides/kerastuner.md", "docs/guides/sklearn.md", "docs/spaces.md"):
        assert page in PAGES_WITH_SNIPPETS
    assert set(FAST) <= set(PAGES_WITH_SNIPPETS)


def test_every_python_fence_is_run():
    unrun = [page for page in pages() if UNRUN.search(read(page))]
    assert not unrun, f"code fences that are not run (write ```python): {unrun}"


@pytest.mark.parametrize(
    "page",
    [
        pytest.param(page, marks=() if page in FAST else pytest.mark.slow, id=page)
        for page in PAGES_WITH_SNIPPETS
    ],
)
def test_page_snippets_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__snippets__"}
    try:
        for number, code in enumerate(snippets(page), start=1):
            try:
                exec(compile(code, f"{page} snippet {number}", "exec"), namespace)
            except Exception as error:
                message = f"{page} snippet {number} failed: {error!r}\n{code}"
                raise AssertionError(message) from error
    finally:
        # A page may register nasplug's AutoKeras tuners; leave AutoKeras as it was.
        if "nasplug.autokeras" in sys.modules:
            sys.modules["nasplug.autokeras"].disable()
