"""Where one request's time goes, without HTTP: the SOAP endpoint's pool job called in process.

    .venv/bin/python scripts/profile_pipeline.py [--requests 300]

Runs alternating 5 KB creates and gets (the core bench's workload) through the SOAP front,
Spyne and the pipeline on a fresh SQLite store, prints milliseconds (and CPU milliseconds) per
request without a profiler and the SQL statements SQLite ran per request, then a cProfile's own
time grouped by package.
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_core import _bodies  # noqa: E402
from soapbus.profiles import services  # noqa: E402
from soapbus.server import build_processor, spyne_app  # noqa: E402
from soapbus.server.config import ServerConfig  # noqa: E402
from soapbus.server.guard import Guard, SecurityConfig  # noqa: E402
from soapbus.server.inbound import ArrivedRequest, SoapEndpoint  # noqa: E402
from soapbus.store import Store  # noqa: E402

BUCKETS = (("sqlalchemy", "SQLAlchemy"), ("spyne", "Spyne"), ("/soapbus/store", "soapbus.store"),
           ("/soapbus/message", "soapbus.message"), ("/soapbus/profiles", "soapbus.profiles (validation)"),
           ("/soapbus/server", "soapbus.server"), ("/soapbus/bus", "soapbus.bus"))


def bucket(filename: str, name: str) -> str:
    if filename == "~" and ("sqlite3" in name or "Cursor" in name or "Connection" in name):
        return "sqlite3 driver (statements, commit)"
    if filename == "~" and "lxml" in name:
        return "lxml"
    for needle, label in BUCKETS:
        if needle in filename:
            return label
    return "other (stdlib: uuid, datetime, logging, ...)"


def _count_statements(store, work) -> collections.Counter:
    """Every statement SQLite runs during `work()`, by its first words (the driver's trace:
    SQLAlchemy's and the DBAPI cursor's statements alike, BEGIN and COMMIT included); the
    connections are traced only meanwhile, so that the profile does not carry the trace."""
    from sqlalchemy import event

    counted: collections.Counter = collections.Counter()

    def note(sql: str) -> None:
        words = sql.split()
        kind = " ".join(words[:3] if words[0] in ("INSERT", "DELETE") else words[:2] if words[0] in (
            "UPDATE", "BEGIN", "RELEASE") else words[:1])
        counted[kind.rstrip("(")] += 1

    @event.listens_for(store.engine, "connect")
    def _trace(dbapi_connection, _record) -> None:
        dbapi_connection.set_trace_callback(note)

    store.engine.dispose()  # connections made from now on are traced
    work()
    event.remove(store.engine, "connect", _trace)
    store.engine.dispose()
    return counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="create+get pairs per measurement")
    args = parser.parse_args()
    forms, _ = _bodies()
    create, get = forms["typed"]
    config = ServerConfig(data_dir=Path(tempfile.mkdtemp(prefix="soapbus-profile-")))
    store = Store(config.resolved_database_url())
    store.create_schema()
    processor = build_processor(config, store)
    guard = Guard(SecurityConfig())
    endpoints = {s.name: SoapEndpoint(s, spyne_app.build(s, processor), processor, guard, 10**7) for s in services()}

    def call(service: str, body: bytes) -> None:
        outcome = endpoints[service].answer(ArrivedRequest(body, "text/xml", False, "127.0.0.1"))
        if b">OK<" not in outcome.body:
            raise RuntimeError(outcome.body[:500])

    def run(pairs: int) -> None:
        for _ in range(pairs):
            mrid = uuid.uuid4().hex
            call("ExecuteMeterReadings", create.replace("@MRID@", mrid).replace("@MID@", str(uuid.uuid4())).encode())
            call("GetMeterReadings", get.replace("@MRID@", mrid).replace("@MID@", str(uuid.uuid4())).encode())

    run(50)  # warm caches
    started, cpu = time.perf_counter(), time.process_time()
    run(args.requests)
    requests = 2 * args.requests
    print(f"{(time.perf_counter() - started) / requests * 1000:.3f} ms per request, "
          f"{(time.process_time() - cpu) / requests * 1000:.3f} ms CPU (no profiler)")
    statements = _count_statements(store, lambda: run(50))
    print(f"{sum(statements.values()) / 100:.1f} SQL statements per request, as SQLite ran them: "
          + ", ".join(f"{n / 100:.2f} {kind}" for kind, n in statements.most_common()))
    profile = cProfile.Profile()
    profile.enable()
    run(args.requests)
    profile.disable()
    totals: collections.Counter = collections.Counter()
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in pstats.Stats(profile).stats.items():
        totals[bucket(filename, name)] += own
    grand = sum(totals.values())
    for label, own in totals.most_common():
        print(f"{own / grand:6.1%}  {label}")


if __name__ == "__main__":
    main()
