"""The browser modules' own unit tests, run with Node's built-in test runner."""

import shutil
import subprocess
from pathlib import Path

JS_TESTS = Path(__file__).resolve().parent.parent / "static" / "js" / "tests"


def test_javascript_unit_tests_pass():
    node = shutil.which("node")
    assert node, "Node.js is needed for the JavaScript unit tests (.ci/run installs it)."
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.mjs"))
    assert files, f"no JavaScript tests found in {JS_TESTS}"
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
