"""Where one request's time goes, without HTTP: the SOAP endpoint's pool job called in process.

    .venv/bin/python scripts/profile_pipeline.py [--requests 300]

Runs alternating 5 KB creates and gets (the core bench's workload) through the SOAP front,
Spyne and the pipeline on a fresh SQLite store, prints milliseconds per request without a
profiler, then a cProfile's own time grouped by package.
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
    started = time.perf_counter()
    run(args.requests)
    print(f"{(time.perf_counter() - started) / (2 * args.requests) * 1000:.3f} ms per request (no profiler)")
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
