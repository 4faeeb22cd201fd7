"""Shared test helpers: a real soapbus server in a child process, and message builders."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
from lxml import etree

from soapbus import message as m
from soapbus.message import namespaces, soap

MR_NS = namespaces.profile_ns("MeterReadings")
EDE_NS = namespaces.profile_ns("EndDeviceEvents")
EDC_NS = namespaces.profile_ns("EndDeviceControls")


@dataclass
class ServerProcess:
    url: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen
    output: list[str] = dataclasses.field(default_factory=list)  # every line it printed (stdout and stderr)

    def log_text(self) -> str:
        return "".join(self.output)

    def post(self, service: str, body: bytes, content_type: str = "text/xml; charset=utf-8",
             action: str = '""') -> requests.Response:
        return requests.post(f"{self.url}/soap/{service}", data=body,
                             headers={"Content-Type": content_type, "SOAPAction": action}, timeout=30)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_server(data_dir: Path, database_url: str | None = None, extra_args=(), env=None,
                 port: int = 0, module: str = "soapbus") -> ServerProcess:
    """module: what `python -m` runs (a test wrapper such as tests.plugins.crash_server takes the same arguments)."""
    args = [sys.executable, "-m", module, "serve", "--port", str(port), "--data", str(data_dir), *extra_args]
    if database_url:
        args += ["--database", database_url]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            # keep draining output (kept for tests that read the log) so the child never blocks on a full pipe
            import threading

            url = found.group(1)
            server = ServerProcess(url, data_dir, database_url or f"sqlite:///{(data_dir / 'soapbus.db').resolve()}",
                                   proc, seen)
            def keep_reading():
                for later in proc.stdout:
                    seen.append(later)

            threading.Thread(target=keep_reading, daemon=True).start()
            return server
    proc.kill()
    raise RuntimeError("soapbus serve did not start:\n" + "".join(seen))


@contextlib.contextmanager
def server_on(database: str, data_dir: Path, name: str, extra_args=()):
    """A server on SQLite, or on PostgreSQL in a schema of its own, dropped afterwards."""
    if database != "postgresql":
        proc = start_server(data_dir, None, extra_args)
        try:
            yield proc
        finally:
            proc.stop()
        return
    from soapbus.store import Store

    from .conftest import skip_or_fail

    base = os.environ.get("SOAPBUS_TEST_PG_URL")
    if not base:
        skip_or_fail("set SOAPBUS_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) "
                     "to run the server tests on PostgreSQL")
    schema = f"soapbus_{name}_{os.getpid()}"
    admin = Store(base)
    with admin.engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    proc = start_server(data_dir, f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", extra_args)
    try:
        yield proc
    finally:
        proc.stop()
        with admin.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.close()


def header(verb: str, noun: str, **kw) -> m.Header:
    fields = dict(timestamp=m.now(), source="MDMS", message_id=str(uuid.uuid4()))
    fields.update(kw)
    return m.Header(verb=verb, noun=noun, **fields)


def meter_readings(*mrids: str, value: str = "12.5") -> etree._Element:
    root = etree.Element(f"{{{MR_NS}}}MeterReadings", nsmap={None: MR_NS})
    for mrid in mrids:
        mr = etree.SubElement(root, f"{{{MR_NS}}}MeterReading")
        etree.SubElement(mr, f"{{{MR_NS}}}mRID").text = mrid
        reading = etree.SubElement(mr, f"{{{MR_NS}}}Readings")
        etree.SubElement(reading, f"{{{MR_NS}}}timeStamp").text = "2026-11-26T10:00:00Z"
        etree.SubElement(reading, f"{{{MR_NS}}}value").text = value
        rt = etree.SubElement(reading, f"{{{MR_NS}}}ReadingType")
        rt.set("ref", "0.0.0.1.1.1.12.0.0.0.0.0.0.0.0.3.72.0")
    return root


def typed_envelope(operation: str, noun: str, msg) -> bytes:
    ns = namespaces.noun_message_ns(noun)
    element = m.to_element(msg, wrapper=f"{{{ns}}}{operation}", part_ns=ns)
    return soap.to_bytes(soap.envelope(element))


def generic_envelope(msg, wrapped: bool = False) -> bytes:
    element = m.to_element(msg)
    if wrapped:
        op = {"RequestMessage": "Request", "EventMessage": "PublishEvent", "ResponseMessage": "Response"}[msg.kind]
        wrapper = etree.Element(f"{{{namespaces.ABSTRACT}}}{op}")
        inner = m.to_element(msg, wrapper=f"{{{namespaces.ABSTRACT}}}message")
        wrapper.append(inner)
        element = wrapper
    return soap.to_bytes(soap.envelope(element))


def response_message(resp: requests.Response):
    """The 61968 message in a SOAP response body, parsed."""
    unwrapped = soap.unwrap(resp.content)
    return m.parse(unwrapped.message)


def fault_of(resp: requests.Response):
    return soap.read_fault(m.parse_bytes(resp.content))
