"""Dataplane packages of other versions, built from this tree, for upgrade tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]


def next_version() -> str:
    current = Version(version("streamplane"))
    return f"{current.major}.{current.minor}.{current.micro + 1}"


def build_dataplane_wheel(work_dir: Path, new_version: str) -> Path:
    """A wheel of this tree's dataplane that calls itself `new_version`."""
    source = work_dir / "source"
    shutil.copytree(ROOT / "dataplane", source / "dataplane")
    shutil.copy(ROOT / "README.md", source / "README.md")
    pyproject = (ROOT / "pyproject.toml").read_text()
    (source / "pyproject.toml").write_text(
        re.sub(r'(?m)^version = ".*"$', f'version = "{new_version}"', pyproject, count=1)
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(work_dir / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (work_dir / "dist").glob("streamplane-*.whl")
    return wheel
