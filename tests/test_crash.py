"""Crash safety: SIGKILL the server in the middle of 1,000 asynchronous requests and their events.

After a restart every reply and every event has been delivered, and none acted twice: the
receivers count distinct messages per conversation (a repeated delivery of the same
MessageID is acknowledged and dropped, as a 61968 receiver must, and counted separately).
"""
from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from soapbus import message as m
from soapbus.message import soap
from soapbus.store import Store

from .helpers import header, meter_readings, start_server, typed_envelope

REQUESTS = 1000
KILL_AFTER_ACKS = 350
SENDERS = 4


class CountingReceiver:
    """Replies and events by CorrelationID; repeats of a MessageID are acknowledged, not counted."""

    def __init__(self):
        self.replies: dict[str, set[str]] = defaultdict(set)
        self.events: dict[str, set[str]] = defaultdict(set)
        self.seen: set[str] = set()
        self.repeats = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                msg = m.parse(soap.unwrap(body).message)
                with receiver.lock:
                    if msg.header.message_id in receiver.seen:
                        receiver.repeats += 1
                    else:
                        receiver.seen.add(msg.header.message_id)
                        target = receiver.events if isinstance(msg, m.EventMessage) else receiver.replies
                        target[msg.header.correlation_id].add(msg.header.message_id)
                data = soap.to_bytes(soap.envelope(m.to_element(m.reply_to(msg.header, m.ok()))))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/callback"

    def close(self):
        self.httpd.shutdown()


def _subscribe(url, endpoint):
    req = urllib.request.Request(f"{url}/admin/subscriptions", method="POST",
                                 data=json.dumps({"endpoint": endpoint, "noun": "MeterReadings",
                                                  "verb": "created"}).encode())
    urllib.request.urlopen(req, timeout=10).read()


def _send_all(url_holder, bodies, acked, stop_event, problems):
    """Each sender posts its share; a failed post (the server died) is left for the second pass."""
    session = requests.Session()
    for message_id, body in bodies:
        if stop_event.is_set():
            return
        try:
            resp = session.post(f"{url_holder[0]}/soap/ExecuteMeterReadings", data=body,
                                headers={"Content-Type": "text/xml"}, timeout=30)
        except requests.RequestException as exc:
            problems.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        if resp.status_code == 200 and b"<m:code>0.3</m:code>" in resp.content:
            acked.add(message_id)
        else:
            problems.append(f"HTTP {resp.status_code}: {resp.content[-400:]!r}")


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing_and_repeats_nothing(tmp_path):
    receiver = CountingReceiver()
    data_dir = tmp_path / "crash"
    server = start_server(data_dir, extra_args=["--delivery-base-delay", "0.05"])
    try:
        _subscribe(server.url, receiver.url)
        bodies = []
        for i in range(REQUESTS):
            req = m.RequestMessage(header("create", "MeterReadings", async_reply_flag=True,
                                          reply_address=receiver.url),
                                   None, m.Payload(documents=[meter_readings(f"crash-{i}")]))
            bodies.append((req.header.message_id, typed_envelope("CreateMeterReadings", "MeterReadings", req)))
        acked: set[str] = set()
        url_holder = [server.url]
        stop = threading.Event()
        problems: list[str] = []
        senders = [threading.Thread(target=_send_all, args=(url_holder, bodies[i::SENDERS], acked, stop, problems))
                   for i in range(SENDERS)]
        for t in senders:
            t.start()
        deadline = time.monotonic() + 120
        while len(acked) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.kill()  # SIGKILL: no clean shutdown, requests and deliveries in flight
        server.process.wait()
        killed_at = len(acked)
        stop.set()
        for t in senders:
            t.join()

        server = start_server(data_dir, extra_args=["--delivery-base-delay", "0.05"])
        url_holder[0] = server.url
        # the senders go on as at-least-once senders do: whatever is not acknowledged is sent
        # again (same bytes, same MessageID) until it is, or until the deadline
        deadline = time.monotonic() + 120
        passes, first_pass_problems = 0, []
        while len(acked) < REQUESTS and time.monotonic() < deadline:
            passes += 1
            problems.clear()
            remaining = [b for b in bodies if b[0] not in acked]
            again = [threading.Thread(target=_send_all, args=(url_holder, remaining[i::SENDERS], acked,
                                                              threading.Event(), problems)) for i in range(SENDERS)]
            for t in again:
                t.start()
            for t in again:
                t.join()
            if passes == 1:
                first_pass_problems = problems[:3]
            if len(acked) < REQUESTS:
                time.sleep(0.5)
        assert len(acked) == REQUESTS, (f"{REQUESTS - len(acked)} requests never acknowledged after the restart; "
                                        f"first problems: {problems[:3]}")

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with receiver.lock:
                if len(receiver.replies) == REQUESTS and len(receiver.events) == REQUESTS:
                    break
            time.sleep(0.1)
        with receiver.lock:
            lost_replies = {mid for mid, _ in bodies} - set(receiver.replies)
            lost_events = {mid for mid, _ in bodies} - set(receiver.events)
            twice = {c: ids for c, ids in list(receiver.replies.items()) + list(receiver.events.items())
                     if len(ids) != 1}
            repeats = receiver.repeats
        store = Store(server.database_url)
        try:
            # the worker records a delivery just after the receiver has it: let the bookkeeping catch up
            deadline = time.monotonic() + 30
            counts = store.outbox_counts()
            while counts["pending"] and time.monotonic() < deadline:
                time.sleep(0.1)
                counts = store.outbox_counts()
        finally:
            store.close()
        print(f"\ncrash test: killed after {killed_at} acks; {passes} sending pass(es) after the restart "
              f"(first pass problems: {first_pass_problems}); replies {len(receiver.replies)}, "
              f"events {len(receiver.events)}, repeated deliveries dropped by MessageID {repeats}, outbox {counts}")
        assert not lost_replies, f"{len(lost_replies)} replies lost"
        assert not lost_events, f"{len(lost_events)} events lost"
        assert not twice, f"{len(twice)} conversations acted on twice: {list(twice.items())[:3]}"
        assert counts["dead"] == 0 and counts["pending"] == 0
    finally:
        server.stop()
        receiver.close()
