"""The code's own measures (issue: a core a newcomer can read): short functions with few positional parameters, and
ruff clean. They run with the suite, so a change that breaks one fails CI."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 50
MAX_POSITIONAL = 5


def functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for folder in ("ae", "ui", "pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):  # ae's layers are subpackages
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    found.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node))
    return found


def test_no_function_is_longer_than_fifty_lines():
    lines = {where: f.end_lineno - f.lineno + 1 for where, f in functions()}
    assert {where: n for where, n in lines.items() if n > MAX_LINES} == {}


def test_no_function_takes_more_than_five_positional_parameters():
    def positional(f) -> int:
        names = [a.arg for a in f.args.posonlyargs + f.args.args]
        return len([n for n in names if n not in ("self", "cls")])

    many = [f"{where} ({positional(f)})" for where, f in functions() if positional(f) > MAX_POSITIONAL]
    assert many == []


def test_the_measures_see_the_code():
    """The two tests above would pass on an empty list: they must find the core's functions."""
    names = {where.split()[-1] for where, _ in functions()}
    assert {"train", "train_epoch", "setup", "sidebar", "cmd_train", "read_digits"} <= names


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(command):
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (scripts/setup.sh --dev installs it)")
    out = subprocess.run([ruff, *command, "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
