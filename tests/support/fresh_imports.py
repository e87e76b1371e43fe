"""Resolves nasplug's names as a fresh interpreter would, for `tests/test_public_api.py`.

Run as a script: it reads a JSON request on stdin, `{"modules": {module: names},
"names": [...]}`, and writes on stdout, for each module, its `__all__` and the names of
it (those of its `__all__`, else the names given) that do not resolve, and for each
dotted name, why it does not resolve (null when it does).

A name can resolve only because another module happened to import its module first, so
each question is asked in a process where no nasplug module is loaded yet: the script
imports the third-party libraries once (TensorFlow alone takes seconds), then forks one
child per question.
"""

import collections
import importlib
import json
import os
import sys

THIRD_PARTY = ("numpy", "pandas", "tensorflow", "keras", "keras_tuner", "autokeras", "sklearn")


def in_child(ask):
    """`ask()`'s JSON-able answer, computed in a forked child (its imports die with it)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            answer = {"answer": ask()}
        except BaseException as error:  # the child reports anything and exits
            answer = {"error": f"{type(error).__name__}: {error}"}
        os.write(write, json.dumps(answer).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 1 << 16):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    answer = json.loads(data or b'{"error": "the child died"}')
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return answer["answer"]


def module_answer(name, names):
    """A module's `__all__` (None without one) and, per name of it (or of `names` when it
    has none), why it does not resolve."""
    module = importlib.import_module(name)
    public = getattr(module, "__all__", None)
    errors = {}
    for attribute in public if public is not None else names or ():
        try:
            getattr(module, attribute)
        except AttributeError as error:
            errors[attribute] = str(error)
    return {"all": None if public is None else list(public), "errors": errors}


def resolve(dotted):
    """The object a dotted name names, as a reader of nasplug's documentation gets it.

    `import nasplug` gives nasplug's own public names as attributes (its subpackages load
    on first use); deeper modules, and private ones, are reached by importing them.
    """
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i in range(1, len(parts)):
        try:
            obj = getattr(obj, parts[i])
        except AttributeError:
            if i == 1 and not parts[1].startswith("_"):
                raise
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


def names_answer(dotted_names):
    errors = {}
    for dotted in dotted_names:
        try:
            resolve(dotted)
            errors[dotted] = None
        except (AttributeError, ImportError) as error:
            errors[dotted] = f"{type(error).__name__}: {error}"
    return errors


def main():
    request = json.load(sys.stdin)
    for name in THIRD_PARTY:
        importlib.import_module(name)
    assert not any(m == "nasplug" or m.startswith("nasplug.") for m in sys.modules)
    modules = {
        name: in_child(lambda name=name, names=names: module_answer(name, names))
        for name, names in request["modules"].items()
    }
    # Names under one first component share a child: the first of them meets a fresh
    # `nasplug`, and the deeper ones resolve by import anyway.
    groups = collections.defaultdict(list)
    for dotted in request["names"]:
        groups[dotted.split(".")[1]].append(dotted)
    names = {}
    for group in groups.values():
        names.update(in_child(lambda group=group: names_answer(group)))
    json.dump({"modules": modules, "names": names}, sys.stdout)


if __name__ == "__main__":
    main()
