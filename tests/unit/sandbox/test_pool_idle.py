"""The pool at rest: an idle worker, and the engine waiting on a worker's answer, sleep on their socket and
never poll."""

import socket
import time

import trio


class _CountingSocket(socket.socket):
    """A socket that counts its reads, and the reads that found nothing (a poll)."""

    reads = polls = 0

    def recv(self, *args):
        self.reads += 1
        try:
            return super().recv(*args)
        except BlockingIOError:
            self.polls += 1
            raise


def test_an_idle_worker_sleeps_in_recv_and_never_polls():
    """Between requests the worker blocks in recv: each read returns a request (or the EOF
    that ends it), none finds the socket empty. Requests come 10 ms apart, so a worker that
    polled after its answers would be caught reading an empty socket."""
    import threading

    import msgpack

    from sandbox.worker import serve

    ours, theirs = socket.socketpair()
    counting = _CountingSocket(fileno=theirs.detach())
    server = threading.Thread(target=serve, args=(counting,), daemon=True)
    server.start()
    unpacker = msgpack.Unpacker(raw=False)
    try:
        for rid in range(1, 6):
            time.sleep(0.01)
            ours.sendall(msgpack.packb(["ping", rid]))
            reply = None
            while reply is None:
                unpacker.feed(ours.recv(1 << 16))
                reply = next(unpacker, None)
            assert reply[:2] == ["ok", rid]
    finally:
        ours.close()
    server.join(10)
    assert not server.is_alive()
    assert (counting.reads, counting.polls) == (6, 0)


async def test_the_engine_sleeps_on_the_socket_while_its_worker_runs():
    """``exchange`` reads the socket once after sending, then sleeps on it until the answer
    comes: it does not poll. The "worker" here is this test, answering 20 ms later."""
    import mmap

    import msgpack

    from sandbox.process import WorkerProcess
    from sandbox.worker import PROGRESS

    ours, theirs = socket.socketpair()
    counting = _CountingSocket(fileno=ours.detach())
    counting.setblocking(False)
    w = WorkerProcess(None, counting, mmap.mmap(-1, PROGRESS.size))
    theirs.setblocking(False)
    unpacker = msgpack.Unpacker(raw=False)

    async def answer() -> None:
        await trio.lowlevel.wait_readable(theirs)
        unpacker.feed(theirs.recv(1 << 16))
        request = next(unpacker)
        await trio.sleep(0.02)
        theirs.send(msgpack.packb(["ok", request[1], None, "", [], 0]))

    reads = []
    try:
        for rid in range(1, 4):
            before = counting.reads
            async with trio.open_nursery() as nursery:
                nursery.start_soon(answer)
                reply = await w.exchange(["ping", rid], timeout=30)
            assert reply[:2] == ["ok", rid]
            reads.append(counting.reads - before)
    finally:
        counting.close()
        theirs.close()
    assert reads == [2, 2, 2]  # one that found nothing, one once the answer came
