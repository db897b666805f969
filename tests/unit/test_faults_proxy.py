"""The delaying proxy on the host's loopback: order, integrity and measurable delay, no servers involved."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from lab.faults.proxy import DelayLine, DelayProxy


def test_delay_line_holds_each_chunk_and_never_reorders() -> None:
    line = DelayLine(0.1, jitter_s=0.08, seed=7)
    releases = [line.release_at(t / 100) for t in range(200)]
    assert releases == sorted(releases)
    assert all(release >= t / 100 + 0.02 - 1e-9 for t, release in enumerate(releases))
    again = DelayLine(0.1, jitter_s=0.08, seed=7)
    assert [again.release_at(t / 100) for t in range(200)] == releases  # seeded: reproducible


def test_delay_line_without_jitter_is_exact() -> None:
    line = DelayLine(0.25)
    assert line.release_at(1.0) == 1.25 and line.release_at(1.1) == pytest.approx(1.35)
    with pytest.raises(ValueError):
        DelayLine(-1)


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[tuple[str, int]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address  # type: ignore[misc]
    server.shutdown()
    server.server_close()


def round_trip(port: int, payload: bytes) -> tuple[float, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return time.monotonic() - started, received


def test_proxy_adds_the_delay_in_each_direction_and_keeps_bytes_intact(echo: tuple[str, int]) -> None:
    direct, _ = round_trip(echo[1], b"ping")
    proxy = DelayProxy(echo, down_delay_s=0.2, up_delay_s=0.1, jitter_s=0.02, seed=1)
    port = proxy.start()
    try:
        delayed, answer = round_trip(port, b"ping")
        payload = os.urandom(2_000_000)
        _, echoed = round_trip(port, payload)
    finally:
        proxy.stop()
    assert answer == b"ping"
    assert delayed >= direct + 0.15  # at least half of the 0.3 s injected per round trip
    assert echoed == payload
    assert proxy.stats.connections == 2 and proxy.stats.bytes_up == proxy.stats.bytes_down == 2_000_004


def test_stopped_proxy_refuses_connections(echo: tuple[str, int]) -> None:
    proxy = DelayProxy(echo)
    port = proxy.start()
    proxy.stop()
    proxy.stop()  # idempotent
    assert not proxy.running
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_unreachable_target_closes_the_client_side() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()  # bound but not listening: connection refused
        proxy = DelayProxy(dead)
        port = proxy.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                assert sock.recv(10) == b""
        finally:
            proxy.stop()
    assert proxy.stats.errors
