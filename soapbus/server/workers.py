"""`soapbus serve --workers N`: N server processes on the same port(s), one supervisor.

One soapbus process uses one core (the GIL). With `--workers N` the command's process becomes
a supervisor: it checks the configuration and the database once (a configuration that cannot
work is still one line and exit status 1), reserves the port(s), then forks N workers. Each
worker is a whole server (its own reactor, thread pool, connection pool, delivery engine and
database watch) listening on the same port:

* **Sharing the port.** On Linux (and wherever the socket option exists) each worker opens its
  own listening socket with `SO_REUSEPORT`, and the kernel spreads new connections over them
  by their addresses; the supervisor keeps an unlistened socket bound to the port so that it
  stays reserved while a worker restarts. Without `SO_REUSEPORT` the supervisor listens once
  and every worker adopts that socket (`reactor.adoptStreamPort`); then whichever idle worker
  wakes first takes a new connection. Kept-alive connections stay with the worker that took them.
* **Nothing shared in memory.** Idempotency claims, the replay memory, the journal, the objects
  and the outbox (leased by worker name, which holds the pid) are in the database, whose
  constraints decide between processes as between threads: SQLite in WAL mode with
  `BEGIN IMMEDIATE` writers and a busy timeout, or PostgreSQL. Each worker's `/metrics`
  counts what that worker did (a scrape reaches one of them).
* **A worker that dies is restarted**, with one log line naming it, its pid and how it ended;
  the others serve meanwhile (connections the dead one held are lost; their senders retry with
  the same MessageID and meet the claim). A worker that dies within `QUICK_DEATH` seconds of
  its start `QUICK_DEATHS_ALLOWED` times in a row is not restarted again: the supervisor stops
  the others and exits with status 1 and a line saying so (a fault that restarts cannot cure).
* **Stopping.** SIGTERM or SIGINT to the supervisor stops every worker (SIGTERM; SIGKILL after
  `STOP_GRACE` seconds) and it exits 0. A worker whose supervisor is killed outright gets
  SIGTERM from the kernel (Linux: PR_SET_PDEATHSIG), so no worker is left behind.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

QUICK_DEATH = 5.0  # seconds: a worker dying this soon after its start counts towards giving up
QUICK_DEATHS_ALLOWED = 3
STOP_GRACE = 15.0  # seconds workers get to stop before SIGKILL
BACKLOG = 511
REUSE_PORT = getattr(socket, "SO_REUSEPORT", None)


class WorkersError(Exception):
    """The workers cannot be started or kept running; the message says why."""


@dataclass(frozen=True)
class Listener:
    """One listening address the workers share: plain HTTP or HTTPS."""

    family: int
    host: str
    port: int  # resolved: never 0 once reserved
    shared: socket.socket  # SO_REUSEPORT: the supervisor's unlistened reservation; else the one listening socket

    def socket_for_worker(self) -> socket.socket:
        """A listening socket for one worker (call in the worker after fork)."""
        if REUSE_PORT is None:
            return self.shared
        own = _bound(self.family, self.host, self.port)
        own.listen(BACKLOG)
        return own

    def adopt(self, reactor, factory):
        """In a worker: listen with `factory` on this address (the reactor duplicates the descriptor)."""
        sock = self.socket_for_worker()
        try:
            return reactor.adoptStreamPort(sock.fileno(), self.family, factory)
        finally:
            if sock is not self.shared:
                sock.close()


@dataclass(frozen=True)
class WorkerListeners:
    """What the workers listen on; given to server.start instead of binding its own ports."""

    http: Listener | None
    https: Listener | None
    index: int = 0  # the worker (1..N) listening with them; 0 in the supervisor, which only reserves


def reserve(host: str, http_port: int | None, https_port: int | None) -> WorkerListeners:
    """In the supervisor: bind the address(es) (port 0 picks a free one, the same for every worker)."""
    return WorkerListeners(_reserve(host, http_port) if http_port is not None else None,
                           _reserve(host, https_port) if https_port is not None else None)


def _reserve(host: str, port: int) -> Listener:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = _bound(family, host, port)
    except OSError as exc:
        raise WorkersError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if REUSE_PORT is None:
        sock.listen(BACKLOG)
    return Listener(family, host, sock.getsockname()[1], sock)


def _bound(family: int, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if REUSE_PORT is not None:
        sock.setsockopt(socket.SOL_SOCKET, REUSE_PORT, 1)
    sock.setblocking(False)
    sock.bind((host, port))
    return sock


# ---------------------------------------------------------------- the supervisor


@dataclass
class _Worker:
    index: int  # 1..N, kept across restarts
    pid: int
    started: float
    quick_deaths: int = 0  # deaths in a row within QUICK_DEATH seconds of starting


class Supervisor:
    """Forks `count` workers running `serve_worker(index, restarted)` and keeps them running."""

    def __init__(self, count: int, serve_worker: Callable[[int, bool], None], clock=time.monotonic):
        self.count = count
        self.serve_worker = serve_worker
        self.clock = clock
        self.workers: dict[int, _Worker] = {}
        self.stopping = False

    def run(self) -> int:
        """Until stopped (0) or until a worker keeps dying at start-up (1)."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for index in range(1, self.count + 1):
                self._fork(index, restarted=False)
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _fork(self, index: int, restarted: bool, quick_deaths: int = 0) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        supervisor = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the supervisor's code
            status = 1
            try:
                # A group of its own: a terminal's Ctrl-C reaches the supervisor alone, which stops
                # each worker once (a second signal would meet a reactor already stopping).
                os.setpgid(0, 0)
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                _die_with_parent(supervisor)
                self.serve_worker(index, restarted)
                status = 0
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - a worker's failure must not run the supervisor's code
                log.exception("worker %d failed", index)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        self.workers[pid] = _Worker(index, pid, self.clock(), quick_deaths)

    def _supervise(self) -> int:
        while self.workers:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            worker = self.workers.pop(pid, None)
            if worker is None or self.stopping:
                continue
            how = _how_it_ended(status)
            quick = self.clock() - worker.started < QUICK_DEATH
            deaths = worker.quick_deaths + 1 if quick else 0
            if deaths >= QUICK_DEATHS_ALLOWED:
                log.error("worker %d (pid %d) %s within %g s of starting, %d times in a row: not restarting it; "
                          "stopping the other workers (the lines above say why it failed)", worker.index, pid, how,
                          QUICK_DEATH, deaths)
                self._stop_all()
                self._reap_all()
                return 1
            log.error("worker %d (pid %d) %s; starting another in its place", worker.index, pid, how)
            self._fork(worker.index, restarted=True, quick_deaths=deaths)
        return 0

    def _stop(self, signum, _frame) -> None:
        self.stopping = True
        self._stop_all()
        self._reap_all()

    def _stop_all(self) -> None:
        for pid in list(self.workers):
            _signal(pid, signal.SIGTERM)

    def _reap_all(self) -> None:
        deadline = self.clock() + STOP_GRACE
        while self.workers:
            for pid in list(self.workers):
                try:
                    done, _status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    self.workers.pop(pid, None)
            if self.workers and self.clock() > deadline:
                for pid in list(self.workers):
                    log.error("worker %d (pid %d) did not stop within %g s: killed", self.workers[pid].index, pid,
                              STOP_GRACE)
                    _signal(pid, signal.SIGKILL)
                deadline = float("inf")
            if self.workers:
                time.sleep(0.05)


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"was killed by {name}"
    return f"exited with status {os.WEXITSTATUS(status)}"


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _die_with_parent(supervisor: int) -> None:
    """Linux: SIGTERM to this worker when its supervisor dies (even by SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != supervisor:  # the supervisor died before the option was set
        os._exit(1)


__all__ = ["Supervisor", "WorkerListeners", "Listener", "WorkersError", "reserve", "REUSE_PORT"]
