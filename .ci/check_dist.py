"""Checks the built wheel and sdist of nasplug: their files and the wheel's metadata.

Usage: python .ci/check_dist.py DIST_DIR
"""

import email
import pathlib
import sys
import tarfile
import zipfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import nasplug  # noqa: E402  (the version of this checkout: nasplug/__init__.py)


def fail(message):
    raise SystemExit(f"check_dist: {message}")


def main(dist):
    wheels = list(dist.glob("nasplug-*.whl"))
    sdists = list(dist.glob("nasplug-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    version = nasplug.__version__
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        info = f"nasplug-{version}.dist-info"
        for required in (
            "nasplug/__init__.py",
            "nasplug/cli/__init__.py",
            "nasplug/oracles/__init__.py",
            "nasplug/sklearn/__init__.py",
            f"{info}/METADATA",
            f"{info}/entry_points.txt",
            f"{info}/licenses/LICENSE",
        ):
            if required not in names:
                fail(f"{wheels[0].name} lacks {required}")
        stray = [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "docs")]
        if stray:
            fail(f"{wheels[0].name} holds files outside the package: {stray[:5]}")
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        if "nasplug = nasplug.cli:main" not in wheel.read(f"{info}/entry_points.txt").decode():
            fail("the wheel has no `nasplug` command")
    if metadata["Version"] != version:
        fail(f"wheel version {metadata['Version']} is not nasplug.__version__ {version}")
    if metadata["License-Expression"] != "Apache-2.0":
        fail(f"license {metadata['License-Expression']!r}, expected Apache-2.0")
    requires = metadata.get_all("Requires-Dist") or []
    plain = [r for r in requires if "extra ==" not in r]
    if any(r.startswith("tensorflow-cpu") for r in requires):
        fail("the wheel requires tensorflow-cpu: a GPU machine would train on its CPU")
    if not any(r.startswith("tensorflow") for r in plain):
        fail("the wheel does not require tensorflow")
    pinned = [r for r in plain if "==" in r]
    if pinned:
        fail(f"exact pins in the dependencies: {pinned}")
    extras = set(metadata.get_all("Provides-Extra") or [])
    if not {"cuda", "jax", "test", "docs", "bench"} <= extras:
        fail(f"extras {sorted(extras)} lack one of cuda, jax, test, docs, bench")
    with tarfile.open(sdists[0]) as sdist:
        root = f"nasplug-{version}/"
        members = set(sdist.getnames())
        for required in ("pyproject.toml", "README.md", "LICENSE", "nasplug/__init__.py"):
            if root + required not in members:
                fail(f"{sdists[0].name} lacks {required}")
    print(
        f"check_dist: {wheels[0].name} and {sdists[0].name} hold nasplug {version}, "
        f"{len(names)} files in the wheel, {len(plain)} dependencies, extras {sorted(extras)}"
    )


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
