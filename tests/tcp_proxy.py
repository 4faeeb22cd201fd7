"""A loopback TCP proxy a test can cut and restore, to take a shared database away from one server.

Stopping the PostgreSQL cluster would take it from everyone's tests; a server pointed at this
proxy instead meets a real outage of its own: `cut()` drops every open connection (both sides
see the socket close, as when a database server dies) and closes the listening socket, so new
connections are refused; `restore()` listens on the same port again and forwards as before.
`cut_switch()` opens a port where a connection cuts the proxy, for code in another process (a
handler inside the server) to cut the database off at an exact point of its work.
"""
from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, accept_poll: float = 0.1):
        self.target = (target_host, target_port)
        self._accept_poll = accept_poll  # how often the accept loop looks whether it must stop
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._acceptor: threading.Thread | None = None
        self.port = 0
        self._listen()

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join()
            self._acceptor = None
        with self._lock:
            dropped, self._open = self._open, []
        for sock in dropped:
            _shut(sock)
            sock.close()

    def restore(self) -> None:
        """Accept and forward again, on the same port."""
        if self._acceptor is None:
            self._listen()

    def cut_switch(self) -> int:
        """A loopback port: each connection to it cuts the proxy, then gets b"cut" and is closed."""
        switch = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        switch.bind(("127.0.0.1", 0))
        switch.listen(8)

        def serve() -> None:
            while True:
                try:
                    caller, _ = switch.accept()
                except OSError:
                    return
                self.cut()
                with caller:
                    caller.sendall(b"cut")

        threading.Thread(target=serve, daemon=True).start()
        self._switch = switch
        return switch.getsockname()[1]

    def close(self) -> None:
        self.cut()
        switch = getattr(self, "_switch", None)
        if switch is not None:
            switch.close()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(self._accept_poll)
        self.port = listener.getsockname()[1]
        self._stop.clear()
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()

    def _accept(self, listener: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                try:
                    client, _ = listener.accept()
                except socket.timeout:
                    continue
                self._forward(client)
        finally:
            listener.close()  # from here on, connecting is refused

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        client.settimeout(None)
        upstream.settimeout(None)
        with self._lock:
            self._open += [client, upstream]
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    _shut(source)
    _shut(sink)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
