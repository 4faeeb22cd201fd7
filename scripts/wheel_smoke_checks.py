"""The checks scripts/wheel_smoke runs with the virtualenv the wheel went into, from a folder
outside the checkout: what an integrator who ran `pip install soapbus-*.whl` does first.

Usage: VENV/bin/python wheel_smoke_checks.py VENV WORK VERSION

Only the standard library here; soapbus is used as the installed `soapbus` command. Each check
prints one line; the first that fails stops the run with exit status 1 and what was seen.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

OUTAGE_NS = "http://iec.ch/TC57/2011/OutageRecords#"
OUTAGE = f"""<OutageRecords xmlns="{OUTAGE_NS}">
  <OutageRecord><mRID>wheel-smoke-1</mRID><createdDateTime>2026-01-01T00:00:00Z</createdDateTime></OutageRecord>
</OutageRecords>
"""


class SmokeFailed(Exception):
    pass


def check(condition: bool, what: str, seen: str = "") -> None:
    if not condition:
        raise SmokeFailed(f"{what}\n--- seen:\n{seen}")
    print(f"  ok  {what}")


def run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "soapbus"), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, answer.read().decode("utf-8")


def start_server(venv: Path, work: Path, pki: Path) -> tuple[subprocess.Popen, str, list[str]]:
    process = subprocess.Popen([str(venv / "bin" / "soapbus"), "serve", "--port", "0", "--data", str(work / "data"),
                                "--certs", str(pki)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=work)
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return process, found.group(1), seen
    process.kill()
    raise SmokeFailed("soapbus serve did not start\n" + "".join(seen))


def checks(venv: Path, work: Path, version: str) -> None:
    here = work / "elsewhere"  # an empty folder: nothing of the checkout is in reach
    here.mkdir()
    shown = run(venv, "--version", cwd=here)
    check(shown.returncode == 0 and shown.stdout.strip() == f"soapbus, version {version}",
          f"soapbus --version says {version}", shown.stdout + shown.stderr)
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import soapbus, soapbus.profiles as p; "
                            "print(soapbus.__file__); print(p.xsd_dir()); print(p.wsdl_dir())"],
                           capture_output=True, text=True, cwd=here)
    package, xsd, wsdl = (where.stdout.splitlines() + ["", "", ""])[:3]
    check(package.startswith(str(venv)), "soapbus is imported from the virtualenv", where.stdout + where.stderr)
    check(xsd.endswith("soapbus/published/xsd") and wsdl.endswith("soapbus/published/wsdl")
          and (Path(xsd) / "Message.xsd").is_file(), "the schemas and WSDLs are package data", where.stdout)

    pki = work / "pki"
    made = run(venv, "certs", "init", str(pki), cwd=here)
    check(made.returncode == 0 and all((pki / f).is_file() for f in ("ca.pem", "server.pem", "server.key",
                                                                       "client-mdms.pem")),
          "soapbus certs init makes a test PKI in the folder it is given", made.stdout + made.stderr)

    process, url, seen = start_server(venv, work, pki)
    try:
        served_checks(venv, work, here, url)
    except SmokeFailed as failed:
        raise SmokeFailed(f"{failed}\n--- server output:\n{''.join(seen)}") from None
    finally:
        process.terminate()
        process.wait(20)
    current = run(venv, "db", "current", "--data", str(work / "data"), cwd=here)
    check(current.returncode == 0 and "the newest" in current.stdout,
          "soapbus db current: the store the server made is at the newest revision", current.stdout + current.stderr)


def served_checks(venv: Path, work: Path, here: Path, url: str) -> None:
    status, page = fetch(f"{url}/")
    check(status == 200 and "ExecuteOutageRecords" in page, "the discovery page (a packaged template)", page[:500])
    status, wsdl = fetch(f"{url}/wsdl/ExecuteOutageRecords.wsdl")
    check(status == 200 and "../xsd/OutageRecordsMessage.xsd" in wsdl, "a WSDL, importing its schema", wsdl[:500])
    status, xsd = fetch(f"{url}/xsd/OutageRecordsMessage.xsd")
    check(status == 200 and "schema" in xsd, "the schema the WSDL imports", xsd[:500])

    payload = work / "outage.xml"
    payload.write_text(OUTAGE, encoding="utf-8")
    created = run(venv, "call", f"{url}/soap/ExecuteOutageRecords", "--verb", "create", "--noun", "OutageRecords",
                  "--payload", str(payload), cwd=here)
    check(created.returncode == 0 and "<m:Result>OK</m:Result>" in created.stdout,
          "soapbus call: a create validated against the packaged schema is answered OK", created.stdout + created.stderr)
    payload.write_text(OUTAGE.replace("2026-01-01T00:00:00Z", "not a time"), encoding="utf-8")
    refused = run(venv, "call", f"{url}/soap/ExecuteOutageRecords", "--verb", "create", "--noun", "OutageRecords",
                  "--payload", str(payload), cwd=here)
    check(refused.returncode == 1 and "<m:code>1.8</m:code>" in refused.stdout,
          "soapbus call: an invalid payload is answered FAILED 1.8", refused.stdout + refused.stderr)
    got = run(venv, "call", f"{url}/soap/GetOutageRecords", "--verb", "get", "--noun", "OutageRecords",
              "--id", "wheel-smoke-1", cwd=here)
    check(got.returncode == 0 and "wheel-smoke-1" in got.stdout, "soapbus call: the created object comes back",
          got.stdout + got.stderr)

    report = work / "report"
    judged = run(venv, "conformance", "run", "--target", f"{url}/soap/ExecuteOutageRecords", "--suite", "verbs",
                 "--report", str(report), cwd=here)
    check(judged.returncode == 0 and "Every judged check passed" in judged.stdout,
          "soapbus conformance run: a shipped suite passes", judged.stdout + judged.stderr)
    html = (report / "report.html").read_text(encoding="utf-8") if (report / "report.html").is_file() else ""
    check("<html" in html.lower() and (report / "junit.xml").is_file(),
          "the harness writes junit.xml and report.html (a packaged template)", html[:500])


def main(venv: str, work: str, version: str) -> int:
    try:
        checks(Path(venv), Path(work), version)
    except SmokeFailed as failed:
        print(f"  FAILED  {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
