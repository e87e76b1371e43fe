"""No file of the library, its examples, benchmarks or docs names a path of one machine.

Data is found relative to the checkout (`benchmarks/common.py`, `--data`), so a result or a
script that holds `/home/someone/...` works only where it was written.
"""

import os
import re

from tests.support import REPO

FOLDERS = ("nasplug", "examples", "benchmarks", "docs")
# Absolute paths under the folders where machines keep users' and projects' files.
MACHINE_PATH = re.compile(
    r"(?<![\w.~-])/(?:work|home|Users|root|mnt|scratch|opt)/|[A-Za-z]:\\\\?Users\\"
)
SKIP = {".png", ".gz", ".npz", ".keras", ".pyc"}


def files():
    yield os.path.join(REPO, "README.md")
    for folder in FOLDERS:
        for directory, _, names in os.walk(os.path.join(REPO, folder)):
            if "__pycache__" in directory or os.sep + "site" in directory:
                continue
            for name in names:
                if os.path.splitext(name)[1] not in SKIP:
                    yield os.path.join(directory, name)


def test_no_absolute_machine_paths():
    found = []
    for path in files():
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, start=1):
                if MACHINE_PATH.search(line):
                    found.append(f"{os.path.relpath(path, REPO)}:{number}: {line.strip()[:120]}")
    assert not found, "absolute paths of a machine:\n" + "\n".join(found)


def test_the_pattern_finds_machine_paths():
    for line in ("data in /work/shared/benchmarks", '"/home/ann/ucr"', r"C:\Users\ann"):
        assert MACHINE_PATH.search(line), line
    for line in ("../shared/benchmarks/ucr", "/dev/shm", "https://example.org/home/x"):
        assert not MACHINE_PATH.search(line), line
