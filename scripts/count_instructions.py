"""Instructions per request, this checkout against another commit, counted by cachegrind.

    .venv/bin/python scripts/count_instructions.py --base 2085063 [--workload core|signed|readings]

A time on this shared 2-core machine moves with whatever else runs; an instruction count does
not (cachegrind counts the same for the same work). Each workload is run in process on a fresh
SQLite store through the SOAP endpoint's pool job (the set-up of scripts/profile_pipeline.py):
warm-up requests, then `--requests` more; the count for none is taken off, so start-up and
warm-up cancel. The base commit is checked out in a temporary git worktree and run by the same
interpreter; all four runs go side by side. Workloads:

* core: the core bench's 5 KB CreateMeterReadings and GetMeterReadings, alternately (a pair is two requests);
* signed: signed I9 CreateControls (RSA-2048, a fixed test PKI made once);
* readings: one create of a MeterReadings document of interval values (per value stored).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUNNER = r'''
import os, sys, tempfile, uuid
from pathlib import Path
checkout, workload, count, pki_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, checkout)
import importlib.util
import soapbus
assert soapbus.__file__.startswith(checkout), soapbus.__file__

def script(name):
    """This checkout's scripts/<name>.py, whichever checkout soapbus comes from."""
    path = os.path.join(os.environ["SOAPBUS_SCRIPTS_ROOT"], "scripts", name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
from lxml import etree
from soapbus import message as m
from soapbus.message import namespaces, soap
from soapbus.profiles import services
from soapbus.server import build_processor, spyne_app
from soapbus.server.config import ServerConfig
from soapbus.server.guard import Guard, SecurityConfig
from soapbus.server.inbound import ArrivedRequest, SoapEndpoint
from soapbus.store import Store

config = ServerConfig(data_dir=Path(tempfile.mkdtemp()), max_elements=10**7, max_inflated_bytes=10**9)
store = Store(config.resolved_database_url())
store.create_schema()
processor = build_processor(config, store)
security = SecurityConfig()
if workload == "signed":
    from soapbus.security import SigningKey, TrustStore, pki, sign_envelope
    p = pki.init(Path(pki_dir))  # made once, kept: key generation is not the same work twice
    security = SecurityConfig(key=SigningKey.load(p.server.key, p.server.cert), trust=TrustStore.from_ca_bundle(p.ca.cert))
guard = Guard(security, replay_memory=store)
endpoints = {s.name: SoapEndpoint(s, spyne_app.build(s, processor), processor, guard, 10**9) for s in services()}

def call(service, body):
    out = endpoints[service].answer(ArrivedRequest(body, "text/xml", False, "127.0.0.1"))
    assert b">OK<" in out.body, out.body[:600]

def envelope(operation, noun, msg):
    ns = namespaces.noun_message_ns(noun)
    return soap.to_bytes(soap.envelope(m.to_element(msg, wrapper=f"{{{ns}}}{operation}", part_ns=ns)))

def header(verb, noun, source="BENCH"):
    return m.Header(verb, noun, timestamp=m.now(), source=source, message_id=str(uuid.uuid4()))

if workload == "core":
    create, get = script("bench_core")._bodies()[0]["typed"]
    def run(n):
        for _ in range(n // 2):
            mrid = uuid.uuid4().hex
            call("ExecuteMeterReadings", create.replace("@MRID@", mrid).replace("@MID@", str(uuid.uuid4())).encode())
            call("GetMeterReadings", get.replace("@MRID@", mrid).replace("@MID@", str(uuid.uuid4())).encode())
    run(30)
    run(count)
elif workload == "signed":
    CTL = namespaces.profile_ns("Controls")
    key = SigningKey.load(p.mdms.key, p.mdms.cert)
    def signed():
        doc = etree.Element(f"{{{CTL}}}Controls", nsmap={None: CTL})
        control = etree.SubElement(doc, f"{{{CTL}}}Control")
        etree.SubElement(control, f"{{{CTL}}}mRID").text = m.new_message_id()
        etree.SubElement(control, f"{{{CTL}}}controlType").text = "breakerOpen"
        psr = etree.SubElement(control, f"{{{CTL}}}PowerSystemResource")
        etree.SubElement(psr, f"{{{CTL}}}mRID").text = "BREAKER-7"
        msg = m.RequestMessage(header("create", "Controls", source="MDMS"), None, m.Payload(documents=[doc]))
        return soap.to_bytes(sign_envelope(etree.fromstring(envelope("CreateControls", "Controls", msg)), key))
    bodies = [signed() for _ in range(30 + int(sys.argv[5]))]  # signed in every run alike
    for body in bodies[:30 + count]:
        call("ExecuteControls", body)
else:
    bench_large = script("bench_large")
    create_body, document = bench_large.create_body, bench_large.document
    call("Operations", create_body(document(0.05, first=9_000_000)[0]))
    doc, meters, values = document(count / 10_000)  # count: values, about
    if count:
        call("Operations", create_body(doc))
    print("values", values if count else 0)
'''


def _instructions(checkout: Path, workload: str, count: int, most: int, pki_dir: Path) -> tuple[subprocess.Popen, Path]:
    out = Path(tempfile.mkstemp(prefix="cachegrind-")[1])
    runner = Path(tempfile.mkstemp(prefix="count-", suffix=".py")[1])
    runner.write_text(RUNNER)
    proc = subprocess.Popen(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", sys.executable,
         str(runner), str(checkout), workload, str(count), str(pki_dir), str(most)],
        stdout=subprocess.PIPE, stderr=open(out, "w"), text=True, cwd=tempfile.gettempdir(),
        env={**os.environ, "SOAPBUS_SCRIPTS_ROOT": str(ROOT)})
    return proc, out


def _refs(proc: subprocess.Popen, out: Path) -> tuple[int, str]:
    stdout, _ = proc.communicate()
    text = out.read_text()
    found = re.search(r"I\s+refs:\s+([\d,]+)", text)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"a counted run failed:\n{text[-3000:]}")
    return int(found.group(1).replace(",", "")), stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (a worktree is made of it)")
    parser.add_argument("--workload", choices=("core", "signed", "readings"), default="core")
    parser.add_argument("--requests", type=int, default=100,
                        help="requests counted (readings: values, about); fewer than 100 is noise")
    args = parser.parse_args()
    if args.workload == "readings" and args.requests == 100:
        args.requests = 3000
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.base], check=True)
        try:
            pki_dir = Path(tmp) / "pki"
            runs = {(label, count): _instructions(checkout, args.workload, count, args.requests, pki_dir)
                    for label, checkout in (("base", base), ("this", ROOT)) for count in (0, args.requests)}
            refs = {key: _refs(*run) for key, run in runs.items()}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    unit = "value" if args.workload == "readings" else "request"
    per = {label: (refs[(label, args.requests)][0] - refs[(label, 0)][0]) / args.requests for label in ("base", "this")}
    print(f"{args.workload}: instructions per {unit} over {args.requests} (cachegrind; start-up and warm-up taken off)")
    print(f"  base {args.base}: {per['base']:,.0f}")
    print(f"  this checkout:  {per['this']:,.0f}  = {per['this'] / per['base']:.3f}x the base")


if __name__ == "__main__":
    main()
