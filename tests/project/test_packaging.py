"""The dependencies pyproject.toml declares, and the lowest versions CI installs from them."""

import os
import re

import pytest

from tests.support import REPO

# Python 3.11's; on 3.10 these checks are left to CI.
tomllib = pytest.importorskip("tomllib")


def project():
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def lower_bounds(requirements):
    bounds = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)", requirement)
        if match:
            bounds[match.group(1).lower()] = match.group(2)
    return bounds


def constraints():
    pins = {}
    with open(os.path.join(REPO, ".ci", "constraints-lowest.txt")) as f:
        for line in f:
            line = line.split("#")[0].strip()
            if line:
                name, version = line.split("==")
                pins[name.lower()] = version
    return pins


def test_dependencies_are_ranges_on_full_tensorflow():
    dependencies = project()["dependencies"]
    assert not [d for d in dependencies if "==" in d], "exact pins in the dependencies"
    assert not [d for d in dependencies if d.startswith("tensorflow-cpu")]
    assert any(d.startswith("tensorflow>=") for d in dependencies)
    assert "cuda" in project()["optional-dependencies"]


def test_lowest_constraints_are_the_lower_bounds():
    declared = lower_bounds(project()["dependencies"])
    declared.update(
        (name, bound)
        for name, bound in lower_bounds(project()["optional-dependencies"]["test"]).items()
        if name not in ("ruff", "import-linter")
    )
    pins = constraints()
    assert set(declared) == set(pins)
    for name, bound in declared.items():
        # "3.11" allows 3.11.0: the pin is the bound, padded with zeros.
        assert pins[name].split(".")[: len(bound.split("."))] == bound.split("."), name
        assert all(part == "0" for part in pins[name].split(".")[len(bound.split(".")) :]), name


def test_version_has_one_source():
    assert "version" in project()["dynamic"]
    assert "version" not in project()
