"""`make lint`'s checks catch what they are there for: run on small files made for the purpose."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CONFIG = str(BASE_DIR / "pyproject.toml")


def run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "lint-test-key"), "PYTHONPATH": str(BASE_DIR)}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_ruff_refuses_an_unused_import(tmp_path):
    (tmp_path / "probe.py").write_text("import json\n\n\ndef answer() -> int:\n    return 42\n")
    result = run(str(BIN / "ruff"), "check", "--config", CONFIG, "--no-cache", "probe.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "F401" in result.stdout and "json" in result.stdout


def test_ruff_format_refuses_unformatted_code(tmp_path):
    (tmp_path / "probe.py").write_text("def answer( ):\n  return {'a':1}\n")
    result = run(str(BIN / "ruff"), "format", "--config", CONFIG, "--check", "probe.py", cwd=tmp_path)
    assert result.returncode == 1 and "1 file would be reformatted" in result.stdout


UNTYPED = "\n\ndef lint_probe(question):\n    return 42\n"


def mypy_with_untyped_function_in(module: str, tmp_path: Path) -> tuple[str, str]:
    """mypy's output on ``module`` plus an untyped function, and where that function is.

    ``--shadow-file`` has mypy read the copy instead: the tree stays untouched.
    """
    source = (BASE_DIR / module).read_text()
    shadow = tmp_path / Path(module).name
    shadow.write_text(source + UNTYPED)
    result = run(str(BIN / "mypy"), "--config-file", CONFIG, "--shadow-file", module, str(shadow), module, cwd=BASE_DIR)
    assert "INTERNAL ERROR" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result.stdout, f"{module}:{source.count(chr(10)) + 3}:"


def test_mypy_refuses_an_untyped_function_in_a_strict_module(tmp_path):
    output, probe = mypy_with_untyped_function_in("realtime/topics.py", tmp_path)
    assert f"{probe} error: Function is missing a type annotation" in output, output


def test_mypy_lets_an_untyped_function_pass_where_it_is_permissive(tmp_path):
    output, probe = mypy_with_untyped_function_in("alerts/admin.py", tmp_path)
    assert "alerts/admin.py" in output or "Success" in output, output  # mypy did check it
    assert probe not in output, output


def test_the_import_layers_hold():
    result = run(str(BIN / "lint-imports"), "--config", CONFIG, cwd=BASE_DIR)
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout
