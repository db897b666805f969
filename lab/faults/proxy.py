"""A delaying TCP proxy for kernels without netem, placed in the replication path of one link.

Why this design: replication traffic flows container to container on the lab's network, and
no image can be pulled for a sidecar (the server image has no Python or socat). So the proxy
runs as a thread of the lab's own process whose network namespace is the *replica
container's* (setns on that one thread). It listens on the replica's own loopback and
connects to the source's address on the lab network, exactly the path the replica used
before. Traffic stays on loopback and the lab's network, no host port is opened, and the
source still sees the replica's address, so partitions and packet loss compose with it.

The replica is re-pointed with CHANGE ... SOURCE_HOST='127.0.0.1', SOURCE_PORT=<proxy>.
If the lab process dies, the replica keeps pointing at a dead port until the fault's heal,
`lab.faults.sweep`, or `Lab.reset` (which re-wires every link) re-points it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from dataclasses import dataclass, field

from lab.faults.netns import Netns

CHUNK = 64 * 1024
QUEUE_CHUNKS = 256  # back-pressure: stop reading once this many chunks wait for their release time


class DelayLine:
    """Release times for a byte stream: every chunk is held `delay` (+ jitter), and never overtakes another.

    Order matters because it is one TCP stream: with jitter, a later chunk whose draw is
    shorter still leaves after the previous one.
    """

    def __init__(self, delay_s: float, jitter_s: float = 0.0, seed: int | None = None) -> None:
        if delay_s < 0 or jitter_s < 0:
            raise ValueError("delay and jitter must be >= 0")
        self.delay_s, self.jitter_s = delay_s, jitter_s
        self._rng = random.Random(seed)
        self._last = float("-inf")

    def release_at(self, arrived: float) -> float:
        jitter = self._rng.uniform(-self.jitter_s, self.jitter_s) if self.jitter_s else 0.0
        self._last = max(self._last, arrived + max(0.0, self.delay_s + jitter))
        return self._last


@dataclass
class ProxyStats:
    connections: int = 0
    bytes_up: int = 0     # replica -> source
    bytes_down: int = 0   # source -> replica
    errors: list[str] = field(default_factory=list)


class DelayProxy:
    """Forward 127.0.0.1:<port> (in `netns`, or the host when None) to `target`, delaying each direction."""

    def __init__(self, target: tuple[str, int], *, netns: Netns | None = None, down_delay_s: float = 0.0,
                 up_delay_s: float = 0.0, jitter_s: float = 0.0, seed: int | None = None,
                 listen_host: str = "127.0.0.1") -> None:
        self.target, self.netns = target, netns
        self.down_delay_s, self.up_delay_s, self.jitter_s = down_delay_s, up_delay_s, jitter_s
        self.seed = seed
        self.listen_host = listen_host
        self.port = 0
        self.stats = ProxyStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._tasks: set[asyncio.Task] = set()
        self._lines = 0

    # --- lifecycle (called from any thread) --------------------------------------------
    def start(self, timeout: float = 10.0) -> int:
        """Start the proxy thread; return the port it listens on."""
        self._thread = threading.Thread(target=self._main, name=f"delay-proxy->{self.target[0]}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("delay proxy did not start")
        if self._failure is not None:
            raise self._failure
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        """Close the listener and every connection; idempotent."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop may already be closing
                loop.call_soon_threadsafe(self._shutdown)
            thread.join(timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the proxy thread ---------------------------------------------------------------
    def _main(self) -> None:
        try:
            if self.netns is not None:
                self.netns.enter_current_thread()  # this OS thread only; the rest of the process stays put
            loop = asyncio.new_event_loop()
            self._loop = loop
            server = loop.run_until_complete(asyncio.start_server(self._accept, self.listen_host, 0))
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
        except BaseException as exc:  # reported to start()
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown(self) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()

        async def finish() -> None:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            assert self._loop is not None
            self._loop.stop()

        self._finishing = asyncio.ensure_future(finish())

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.stats.connections += 1
        self._lines += 1
        base = None if self.seed is None else self.seed * 1000 + self._lines * 2
        try:
            source_reader, source_writer = await asyncio.open_connection(*self.target)
        except OSError as exc:
            self.stats.errors.append(f"connect {self.target}: {exc}")
            client_writer.close()
            self._tasks.discard(task)
            return
        up = DelayLine(self.up_delay_s, self.jitter_s, base)
        down = DelayLine(self.down_delay_s, self.jitter_s, None if base is None else base + 1)
        try:
            await asyncio.gather(self._pipe(client_reader, source_writer, up, "up"),
                                 self._pipe(source_reader, client_writer, down, "down"))
        except (asyncio.CancelledError, OSError):
            pass
        finally:
            for writer in (client_writer, source_writer):
                writer.close()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: DelayLine,
                    direction: str) -> None:
        """Read as data arrives, write each chunk at its release time; EOF travels with the same delay."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

        async def pump_in() -> None:
            while True:
                try:
                    data = await reader.read(CHUNK)
                except OSError:  # a reset ends the stream like an EOF, after the same delay
                    data = b""
                await queue.put((line.release_at(loop.time()), data))
                if not data:
                    return

        async def pump_out() -> None:
            while True:
                release, data = await queue.get()
                wait = release - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                if direction == "up":
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.bytes_down += len(data)

        reader_task = asyncio.ensure_future(pump_in())
        try:
            await pump_out()
        finally:
            reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await reader_task

