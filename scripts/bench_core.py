"""Core path benchmark: soapbus against a bare Twisted + lxml endpoint and a stock Spyne peer, same run.

    scripts/bench [--seconds 5] [--rounds 5] [--connections 8] [--no-client]

The servers run as child processes; another process drives each over keep-alive HTTP.
The bare endpoint parses each request with lxml and returns a canned ResponseMessage; the
Spyne peer is a stock Spyne 61968 service (see SPYNE_PEER); soapbus handles 5 KB creates and
gets through the whole path (front checks, Spyne dispatch, 61968 checks, profile validation,
idempotency claim, object store, journal of both messages, commit), with one worker process
and with two (`serve --workers 2`). Rounds alternate between the servers so that drift in the
machine hits all; medians are reported. Then the client SDK's figures (scripts/bench_client.py).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE_SERVER = r'''
import sys
from lxml import etree
from twisted.internet import reactor
from twisted.web import resource, server

REPLY = open(sys.argv[1], "rb").read()
PARSER = etree.XMLParser(resolve_entities=False, no_network=True)

class Endpoint(resource.Resource):
    isLeaf = True
    def render_POST(self, request):
        etree.fromstring(request.content.read(), PARSER)
        request.setHeader(b"content-type", b"text/xml; charset=utf-8")
        return REPLY

port = reactor.listenTCP(0, server.Site(Endpoint()), interface="127.0.0.1")
print("listening on http://127.0.0.1:%d" % port.getHost().port, flush=True)
reactor.run()
'''


# The peer a user would pick instead of soapbus: a stock Spyne 2.14 61968 endpoint written as such
# servers typically are (one Request operation taking the message as AnyXml, a ResponseMessage built
# with lxml, Spyne's WSGI application on twisted.web.wsgi, no journal, no idempotency).
SPYNE_PEER = r'''
import sys, uuid
from datetime import datetime, timezone
from lxml import etree
from spyne import AnyXml, Application, ServiceBase, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from twisted.internet import reactor
from twisted.web import server
from twisted.web.wsgi import WSGIResource

MSG = "http://iec.ch/TC57/2011/schema/message"
E = lambda tag: etree.Element(f"{{{MSG}}}{tag}", nsmap={"m": MSG})
def sub(parent, tag, text=None):
    el = etree.SubElement(parent, f"{{{MSG}}}{tag}")
    if text is not None:
        el.text = text
    return el

class Operations(ServiceBase):
    @rpc(AnyXml, _body_style="bare", _in_message_name="RequestMessage", _returns=AnyXml,
         _out_message_name="ResponseMessage")
    def Request(ctx, message):
        # Spyne hands a bare AnyXml argument the first child of the RequestMessage: the Header
        header = message if message.tag == f"{{{MSG}}}Header" else message.find(f"{{{MSG}}}Header")
        response = E("ResponseMessage")
        h = sub(response, "Header")
        sub(h, "Verb", "reply")
        sub(h, "Noun", header.findtext(f"{{{MSG}}}Noun"))
        sub(h, "Timestamp", datetime.now(timezone.utc).isoformat())
        sub(h, "MessageID", str(uuid.uuid4()))
        sub(h, "CorrelationID", header.findtext(f"{{{MSG}}}MessageID"))
        reply = sub(response, "Reply")
        sub(reply, "Result", "OK")
        sub(sub(reply, "Error"), "code", "0.0")
        return response

app = Application([Operations], tns=MSG, in_protocol=Soap11(validator="lxml" if "--validate" in sys.argv else None),
                  out_protocol=Soap11())
resource = WSGIResource(reactor, reactor.getThreadPool(), WsgiApplication(app))
port = reactor.listenTCP(0, server.Site(resource), interface="127.0.0.1")
print("listening on http://127.0.0.1:%d" % port.getHost().port, flush=True)
reactor.run()
'''


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its living children (the workers of `serve --workers`)."""
    total = _cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _start(args: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, found.group(1)
    raise RuntimeError(f"{args} did not start")


def _bodies():
    """Envelope templates: a 5 KB create and a get, with fresh IDs filled in per request."""
    from lxml import etree

    from soapbus import message as m
    from soapbus.message import namespaces, soap

    ns_mr = namespaces.profile_ns("MeterReadings")
    doc = etree.Element(f"{{{ns_mr}}}MeterReadings", nsmap={None: ns_mr})
    mr = etree.SubElement(doc, f"{{{ns_mr}}}MeterReading")
    etree.SubElement(mr, f"{{{ns_mr}}}mRID").text = "@MRID@"
    for i in range(28):
        reading = etree.SubElement(mr, f"{{{ns_mr}}}Readings")
        etree.SubElement(reading, f"{{{ns_mr}}}timeStamp").text = f"2026-11-26T{i % 24:02d}:00:00Z"
        etree.SubElement(reading, f"{{{ns_mr}}}value").text = f"{1000 + i}.25"
        etree.SubElement(reading, f"{{{ns_mr}}}ReadingType").set("ref", "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0")
    msg_ns = namespaces.noun_message_ns("MeterReadings")

    def envelope(msg, operation):
        el = m.to_element(msg, wrapper=f"{{{msg_ns}}}{operation}", part_ns=msg_ns)
        return soap.to_bytes(soap.envelope(el)).decode()

    header = dict(timestamp=m.now(), source="BENCH", message_id="@MID@")
    create = envelope(m.RequestMessage(m.Header("create", "MeterReadings", **header), None,
                                       m.Payload(documents=[doc])), "CreateMeterReadings")
    get = envelope(m.RequestMessage(m.Header("get", "MeterReadings", **header),
                                    m.Request(ids=[m.ID("@MRID@")])), "GetMeterReadings")
    generic_create = soap.to_bytes(soap.envelope(m.to_element(m.RequestMessage(
        m.Header("create", "MeterReadings", **header), None, m.Payload(documents=[doc]))))).decode()
    generic_get = soap.to_bytes(soap.envelope(m.to_element(m.RequestMessage(
        m.Header("get", "MeterReadings", **header), m.Request(ids=[m.ID("@MRID@")]))))).decode()
    reply = m.reply_to(m.Header("get", "MeterReadings", message_id=str(uuid.uuid4())), m.ok(),
                       m.Payload(documents=[doc]))
    canned = soap.to_bytes(soap.envelope(m.to_element(reply, wrapper=f"{{{msg_ns}}}MeterReadingsResponseMessage",
                                                       part_ns=msg_ns)))
    return {"typed": (create, get), "generic": (generic_create, generic_get)}, canned


# What each kind of server is sent, and where: soapbus and the bare endpoint get the typed
# CreateMeterReadings/GetMeterReadings; the Spyne peer, with its one Request operation, the same
# messages as generic RequestMessages.
FORMS = {"bare": "typed", "soapbus": "typed", "soapbus-2w": "typed", "spyne-peer": "generic"}
OK_MARKER = {"soapbus": b"<m:Result>OK</m:Result>", "soapbus-2w": b"<m:Result>OK</m:Result>",
             "spyne-peer": b"<tns:Result>OK</tns:Result>"}
WORKERS = {"soapbus-2w": 2}  # server processes behind one port (serve --workers)


def _balanced_connection(host: str, port: int, workers: int, index: int, connections: int) -> http.client.HTTPConnection:
    """A keep-alive connection to the worker this client is meant for (client i to worker i mod N).

    The kernel spreads connections over the workers by their addresses (SO_REUSEPORT), which with
    a handful of connections can leave one worker most of them; a server with many clients sees
    them spread evenly, so the bench spreads its own: it reconnects until the answering worker
    (X-Soapbus-Worker) is the one this client is for."""
    wanted = str(index % workers + 1)
    for _ in range(200):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("GET", "/health/live")
        resp = conn.getresponse()
        resp.read()
        if resp.getheader("X-Soapbus-Worker") == wanted:
            return conn
        conn.close()
    raise RuntimeError(f"no connection reached worker {wanted} in 200 tries")


def drive(url: str, path_kind: str, seconds: float, connections: int, create: str, get: str) -> dict:
    """Run `connections` keep-alive clients for `seconds`; each alternates a create and a get."""
    host, port = url.removeprefix("http://").split(":")
    counts = [0] * connections
    failures = [0] * connections
    workers = WORKERS.get(path_kind, 1)
    opened = [_balanced_connection(host, int(port), workers, i, connections) if workers > 1
              else http.client.HTTPConnection(host, int(port), timeout=30) for i in range(connections)]
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = opened[index]
        n = 0
        while time.monotonic() < stop:
            mrid = f"b{index}-{n}-{uuid.uuid4().hex[:8]}"
            for template, service in ((create, "ExecuteMeterReadings"), (get, "GetMeterReadings")):
                body = template.replace("@MRID@", mrid).replace("@MID@", str(uuid.uuid4())).encode()
                target = f"/soap/{service}" if path_kind.startswith("soapbus") else "/"
                conn.request("POST", target, body, {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
                resp = conn.getresponse()
                data = resp.read()
                marker = OK_MARKER.get(path_kind)
                if resp.status != 200 or (marker is not None and marker not in data):
                    failures[index] += 1
                counts[index] += 1
            n += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return {"requests": sum(counts), "failures": sum(failures), "elapsed": elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one measured round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--no-client", action="store_true", help="leave out the client SDK's figures")
    args = parser.parse_args()

    forms, canned = _bodies()
    kinds = ("bare", "spyne-peer", "soapbus", "soapbus-2w")
    with tempfile.TemporaryDirectory(prefix="soapbus-bench-") as tmp:
        reply_file = Path(tmp) / "reply.xml"
        reply_file.write_bytes(canned)
        script = Path(tmp) / "bare.py"
        script.write_text(BARE_SERVER)
        peer_script = Path(tmp) / "spyne_peer.py"
        peer_script.write_text(SPYNE_PEER)
        servers = {"bare": _start([sys.executable, str(script), str(reply_file)]),
                   "spyne-peer": _start([sys.executable, str(peer_script)]),
                   "soapbus": _start([sys.executable, "-m", "soapbus", "serve", "--port", "0",
                                      "--data", str(Path(tmp) / "data")]),
                   "soapbus-2w": _start([sys.executable, "-m", "soapbus", "serve", "--port", "0", "--workers", "2",
                                         "--data", str(Path(tmp) / "data-2w")])}
        try:
            results = {kind: [] for kind in kinds}
            for kind in kinds:  # warm-up: imports, caches, SQLite file growth
                drive(servers[kind][1], kind, 1.0, args.connections, *forms[FORMS[kind]])
            for round_no in range(args.rounds):
                for kind in kinds:
                    proc, url = servers[kind]
                    cpu0 = _tree_cpu_seconds(proc.pid)
                    run = _drive_in_child(url, kind, args.seconds, args.connections)
                    cpu = _tree_cpu_seconds(proc.pid) - cpu0
                    run["rps"] = run["requests"] / run["elapsed"]
                    run["cpu_ms_per_request"] = 1000 * cpu / max(run["requests"], 1)
                    results[kind].append(run)
                    print(f"round {round_no + 1} {kind:8s} {run['rps']:8.1f} req/s  "
                          f"{run['cpu_ms_per_request']:6.2f} ms CPU/req  failures {run['failures']}", flush=True)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
    summary = {kind: {"rps_median": statistics.median(r["rps"] for r in runs),
                      "cpu_ms_median": statistics.median(r["cpu_ms_per_request"] for r in runs),
                      "failures": sum(r["failures"] for r in runs)} for kind, runs in results.items()}
    ratio = summary["soapbus"]["rps_median"] / summary["bare"]["rps_median"]
    scaling = summary["soapbus-2w"]["rps_median"] / summary["soapbus"]["rps_median"]
    print()
    print(f"{'':12s} {'req/s (median)':>15s} {'CPU ms/req (median)':>20s} {'of bare':>8s}")
    for kind in kinds:
        print(f"{kind:12s} {summary[kind]['rps_median']:15.1f} {summary[kind]['cpu_ms_median']:20.2f} "
              f"{summary[kind]['rps_median'] / summary['bare']['rps_median']:8.2f}")
    print(f"ratio soapbus/bare throughput: {ratio:.2f} (target >= 0.30); soapbus/stock Spyne peer: "
          f"{summary['soapbus']['rps_median'] / summary['spyne-peer']['rps_median']:.2f}; "
          f"CPU per request soapbus/bare: {summary['soapbus']['cpu_ms_median'] / summary['bare']['cpu_ms_median']:.1f}x")
    print(f"2 workers / 1 worker throughput: {scaling:.2f} (target >= 1.5)")
    if args.json:
        print(json.dumps({"summary": summary, "ratio": ratio, "scaling": scaling, "rounds": results}, indent=2))
    if not args.no_client:
        from scripts import bench_client

        print()
        bench_client.report(bench_client.measure(args.seconds, args.rounds))


def _drive_in_child(url: str, kind: str, seconds: float, connections: int) -> dict:
    """The load comes from a separate process so that it does not share the servers' GIL or CPU accounting."""
    forms, _ = _bodies()
    create, get = forms[FORMS[kind]]
    code = ("import json,sys; sys.path.insert(0, %r); from scripts.bench_core import drive; "
            "print(json.dumps(drive(%r, %r, %r, %r, sys.argv[1], sys.argv[2])))"
            % (str(ROOT), url, kind, seconds, connections))
    out = subprocess.run([sys.executable, "-c", code, create, get], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
