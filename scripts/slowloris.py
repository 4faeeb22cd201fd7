"""Slow clients against a live `soapbus serve` limited to 1,024 descriptors, and a normal client beside them.

    .venv/bin/python scripts/slowloris.py [--seconds 40] [--sockets 1100] [--reconnect] [-- serve options]

The server runs under `ulimit -n 1024`. The attack opens `--sockets` connections that each send
one byte of a request a second; with `--reconnect` every one the server closes is replaced at
once. Meanwhile a normal client posts a create every 0.5 s (2 s timeout) and the script prints
how many were answered OK. Figures in docs/security.md (slowloris row).
"""
from __future__ import annotations

import argparse
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soapbus import message as m  # noqa: E402
from tests.helpers import header, meter_readings, response_message, typed_envelope  # noqa: E402


def start(serve_options: list[str]) -> tuple[subprocess.Popen, str, int]:
    data = tempfile.mkdtemp(prefix="soapbus-slowloris-")
    command = f"ulimit -n 1024; exec {sys.executable} -m soapbus serve --port 0 --data {data} " + " ".join(serve_options)
    proc = subprocess.Popen(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=ROOT)
    for line in proc.stdout:
        found = re.search(r"listening on http://(\S+):(\d+)", line)
        if found:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return proc, found.group(1), int(found.group(2))
    raise SystemExit("soapbus serve did not start")


class Attack:
    def __init__(self, host: str, port: int, sockets: int, reconnect: bool):
        self.address, self.reconnect = (host, port), reconnect
        self.request = (f"POST /soap/ExecuteMeterReadings HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
                        f"Content-Length: 100000\r\n\r\n").encode("ascii") + b"x" * 100000
        with ThreadPoolExecutor(64) as pool:
            self.sockets = [s for s in pool.map(lambda _: self.connect(), range(sockets)) if s is not None]
        self.reconnections = 0
        self.stopped = threading.Event()

    def connect(self) -> socket.socket | None:
        sock = socket.socket()
        sock.settimeout(15)
        try:
            sock.connect(self.address)
            sock.send(self.request[:1])
            return sock
        except OSError:
            sock.close()
            return None

    def dribble(self) -> None:
        sent = 1
        while not self.stopped.is_set():
            for sock in self.sockets:
                try:
                    sock.send(self.request[sent:sent + 1])
                except OSError:
                    pass  # closed by the server: replaced below when reconnecting
            if self.reconnect:
                self.replace_closed()
            sent += 1
            self.stopped.wait(1.0)

    def replace_closed(self) -> None:
        poller, by_fd = select.poll(), {}  # poll, not select: descriptors here go past FD_SETSIZE
        for sock in self.sockets:
            poller.register(sock, select.POLLIN)
            by_fd[sock.fileno()] = sock
        for fd, _event in poller.poll(0):  # the server sends nothing but a closing answer (408, 503) or FIN
            index = self.sockets.index(by_fd[fd])
            self.sockets[index].close()
            fresh = self.connect()
            if fresh is not None:
                self.sockets[index] = fresh
                self.reconnections += 1


def normal_client(url: str, seconds: float) -> tuple[int, int, float | None]:
    ok = failed = 0
    first_ok = None
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        req = m.RequestMessage(header("create", "MeterReadings"), None,
                               m.Payload(documents=[meter_readings(m.new_message_id())]))
        try:
            answer = requests.post(f"{url}/soap/ExecuteMeterReadings", timeout=2,
                                   data=typed_envelope("CreateMeterReadings", "MeterReadings", req),
                                   headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'})
            if response_message(answer).reply.result == "OK":
                ok += 1
                first_ok = first_ok if first_ok is not None else time.monotonic() - started
            else:
                failed += 1
        except Exception:  # noqa: BLE001 - any failure of the normal client counts as one
            failed += 1
        time.sleep(0.5)
    return ok, failed, first_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--sockets", type=int, default=1100)
    parser.add_argument("--reconnect", action="store_true")
    parser.add_argument("serve_options", nargs="*")
    args = parser.parse_args()
    proc, host, port = start(args.serve_options)
    try:
        attack = Attack(host, port, args.sockets, args.reconnect)
        print(f"{len(attack.sockets)} slow sockets connected")
        threading.Thread(target=attack.dribble, daemon=True).start()
        time.sleep(1)
        ok, failed, first_ok = normal_client(f"http://{host}:{port}", args.seconds)
        attack.stopped.set()
        first = f"{first_ok:.1f} s" if first_ok is not None else "never"
        print(f"normal creates: {ok} answered OK, {failed} failed in {args.seconds:.0f} s (first OK after {first}); "
              f"slow sockets reconnected {attack.reconnections} times")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
