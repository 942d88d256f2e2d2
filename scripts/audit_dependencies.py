"""Fail on a known vulnerability in a pinned Python or npm package (`make audit`, run by `make lint`).

pip-audit checks requirements-lint.txt (every Python pin: runtime, test and
lint) against PyPI's advisory data; `npm audit` checks package-lock.json
against the npm registry's. A known vulnerability fails the run, naming the
package, the advisory and the fixed versions. Where an advisory service
cannot be reached nothing was checked, which is not the same as nothing
found: that is said loudly, and fails too with AUDIT_REQUIRED=1 (set it
wherever the services are reachable, as a CI with internet access is).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PIP_AUDIT = Path(sys.executable).parent / "pip-audit"


def python_report():
    """(vulnerabilities, packages left unaudited) of requirements-lint.txt."""
    command = [str(PIP_AUDIT), "--progress-spinner", "off", "--disable-pip", "--require-hashes"]
    command += ["-r", "requirements-lint.txt", "--format", "json"]
    result = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=600)
    try:
        dependencies = json.loads(result.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        return [], [f"pip-audit did not run: {result.stderr.strip()[-500:]}"]
    found = [
        f"{dependency['name']}=={dependency['version']}: {vuln['id']} "
        f"(fixed in {', '.join(vuln['fix_versions']) or 'no release yet'})"
        for dependency in dependencies
        for vuln in dependency.get("vulns", [])
    ]
    unaudited = [dependency["name"] for dependency in dependencies if "skip_reason" in dependency]
    return found, unaudited


def npm_report():
    """(vulnerabilities, packages left unaudited) of package-lock.json."""
    result = subprocess.run(["npm", "audit", "--json"], cwd=BASE_DIR, capture_output=True, text=True, timeout=300)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        return [], [f"npm audit did not run: {result.stderr.strip()[-500:]}"]
    if "metadata" not in report:  # the registry refused or failed the audit request
        return [], [f"package-lock.json (npm audit: {report.get('message') or report.get('error')})"]
    found = [
        f"{name}: {vulnerability['severity']} ({vulnerability.get('range', '')})"
        for name, vulnerability in report.get("vulnerabilities", {}).items()
    ]
    return found, []


def main():
    required = os.environ.get("AUDIT_REQUIRED") == "1"
    failed = False
    for ecosystem, (found, unaudited) in (("Python", python_report()), ("npm", npm_report())):
        for line in found:
            print(f"audit: {ecosystem}: known vulnerability in {line}")
        if unaudited:
            print(
                f"audit: {ecosystem}: NOT AUDITED, the advisory service could not be reached for "
                f"{len(unaudited)} package(s): {', '.join(unaudited[:5])}{' …' if len(unaudited) > 5 else ''}"
            )
        elif not found:
            print(f"audit: {ecosystem}: no known vulnerability")
        failed |= bool(found) or (required and bool(unaudited))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
