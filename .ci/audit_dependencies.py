"""Known vulnerabilities in the locked dependencies: pip-audit over requirements.lock (SECURITY.md).

    python3 .ci/audit_dependencies.py          (.ci/run calls it; PMKPI_REQUIRE_AUDIT=1 makes "not audited" fatal)

Fails on any finding not listed, with its reason, in .ci/pip-audit-ignore. pip-audit alone would pass
when it audited nothing: PyPI answers "not found" for every pinned version where its per-version JSON
is not served (as on CI's machines, behind the package proxy), pip-audit counts those as skipped and
says "No known vulnerabilities found". So its JSON report is read here: dependencies that could not be
audited are listed, and when none could be, a banner says the audit was NOT performed. That fails with
PMKPI_REQUIRE_AUDIT=1 (set it wherever PyPI or OSV answers); without it, CI goes on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

VERSION = "2.10.1"
REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("PMKPI_VERIFY_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
             / "pmkpi-verify")


def pip_audit() -> Path:
    """pip-audit at VERSION in a venv of its own (kept between runs)."""
    tools = CACHE / f"pip-audit-{VERSION}"
    binary = tools / "bin" / "pip-audit"
    probe = subprocess.run([binary, "--version"], capture_output=True, text=True) if binary.exists() else None
    if probe is None or VERSION not in probe.stdout:
        subprocess.run([sys.executable, "-m", "venv", "--clear", tools], check=True)
        done = subprocess.run([tools / "bin" / "pip", "install", "-q", f"pip-audit=={VERSION}"],
                              capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"installing pip-audit=={VERSION} failed:\n{done.stdout}{done.stderr}")
    return binary


def audit(binary: Path, service: str, ignored: list[str]) -> tuple[int, list[dict], str]:
    """pip-audit's exit code, its dependencies (with ``vulns`` or ``skip_reason``) and its stderr."""
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        # Every line of the lock is pinned, so nothing needs resolving (--no-deps --disable-pip).
        done = subprocess.run([binary, "-r", REPO / "requirements.lock", "--no-deps", "--disable-pip",
                               "--progress-spinner", "off", "--vulnerability-service", service, "--format", "json",
                               "--output", report, *[a for vuln in ignored for a in ("--ignore-vuln", vuln)]],
                              capture_output=True, text=True)
        dependencies = json.loads(report.read_text())["dependencies"] if report.exists() else []
    return done.returncode, dependencies, done.stderr


def main() -> int:
    """Audit with PyPI, else OSV; report findings, skips and a not-audited banner."""
    ignored = [line.split()[0] for line in (REPO / ".ci" / "pip-audit-ignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    binary = pip_audit()
    results = {service: audit(binary, service, ignored) for service in ("pypi", "osv")}
    service = next((s for s, (_, deps, _) in results.items() if any("skip_reason" not in d for d in deps)), None)
    if service is None:
        skipped = len(results["pypi"][1])
        osv_error = results["osv"][2].strip().splitlines()[-1:] or ["no answer"]
        banner = "#" * 100
        print(f"{banner}\n# pip-audit: requirements.lock was NOT AUDITED: no vulnerability service answered from this "
              f"machine.\n# PyPI: {skipped} of its pins 'not found'; OSV: {osv_error[0][:160]}\n# See SECURITY.md."
              f"\n{banner}", flush=True)
        return 1 if os.environ.get("PMKPI_REQUIRE_AUDIT") == "1" else 0
    status, dependencies, stderr = results[service]
    audited = [d for d in dependencies if "skip_reason" not in d]
    findings = [f"{d['name']} {d['version']}: {v['id']} (fixed in: {', '.join(v.get('fix_versions') or []) or 'none'})"
                for d in audited for v in d.get("vulns", [])]
    for finding in findings:
        print(f"pip-audit: {finding}")
    skipped = [d["name"] for d in dependencies if "skip_reason" in d]
    if skipped:
        print(f"pip-audit: {len(skipped)} dependencies could not be audited: {', '.join(skipped)}")
    if findings:
        print(f"pip-audit: {len(findings)} known vulnerabilities in requirements.lock: upgrade, or list each in "
              ".ci/pip-audit-ignore and SECURITY.md with the reason it does not apply")
        return 1
    if status not in (0, 1):
        print(f"pip-audit failed (exit {status}): {stderr[-2000:]}")
        return 1
    print(f"pip-audit ({service}): {len(audited)} locked dependencies audited, no known vulnerabilities"
          f"{f' (ignoring {len(ignored)} listed in .ci/pip-audit-ignore)' if ignored else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
