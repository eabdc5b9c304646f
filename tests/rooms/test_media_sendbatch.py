"""Outgoing datagrams of one burst batched (rooms.media.sendbatch), on real UDP sockets:
everything arrives, in order, in one sendmmsg where Linux has it; alone, at once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys

import pytest

from rooms.media.sendbatch import (
    MAX_BATCH,
    MIN_BATCH,
    DatagramBatch,
    batching,
    load_sendmmsg,
    sockaddr,
)


class Collect(asyncio.DatagramProtocol):
    def __init__(self, wanted: int) -> None:
        self.got: list[bytes] = []
        self.wanted = wanted
        self.done = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.got.append(data)
        if len(self.got) == self.wanted and not self.done.done():
            self.done.set_result(None)


async def send_burst(count: int, use_sendmmsg: bool, host: str = "127.0.0.1",
                     burst: bool = True) -> tuple[
        list[bytes], list[bytes], DatagramBatch]:
    loop = asyncio.get_running_loop()
    receiver, collect = await loop.create_datagram_endpoint(lambda: Collect(count),
                                                            local_addr=(host, 0))
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                    local_addr=(host, 0))
    try:
        addr = receiver.get_extra_info("sockname")
        batch = DatagramBatch(sender, addr, load_sendmmsg() if use_sendmmsg else None)
        packets = [bytes([i % 256]) * (100 + i) for i in range(count)]
        with batching() if burst else contextlib.nullcontext():  # as fastpath hands a burst on
            for packet in packets:
                batch.send(packet)
        await asyncio.wait_for(collect.done, 5)
        return packets, collect.got, batch
    finally:
        sender.close()
        receiver.close()


@pytest.mark.skipif(sys.platform != "linux", reason="sendmmsg is Linux's")
async def test_a_burst_goes_in_one_sendmmsg_and_arrives_whole_and_in_order() -> None:
    assert load_sendmmsg() is not None
    packets, got, batch = await send_burst(MIN_BATCH + 4, use_sendmmsg=True)
    assert got == packets
    assert batch.syscalls == 1, "a long burst's packets, one system call"
    packets, got, batch = await send_burst(MIN_BATCH - 1, use_sendmmsg=True)
    assert got == packets and batch.syscalls == MIN_BATCH - 1, "a short one, one sendto each"
    packets, got, batch = await send_burst(5, use_sendmmsg=True, burst=False)
    assert got == packets and batch.syscalls == 5, "outside a burst each goes at once"


async def test_more_than_a_batch_and_without_sendmmsg_everything_still_arrives() -> None:
    packets, got, batch = await send_burst(MAX_BATCH * 2 + 3, use_sendmmsg=True)
    assert got == packets
    if load_sendmmsg() is not None:
        assert batch.syscalls == 2 + 3, "two full batches, and three packets left over"
    packets, got, batch = await send_burst(10, use_sendmmsg=False)
    assert got == packets and batch.syscalls == 10, "elsewhere: one sendto per packet"


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
async def test_ipv6_destinations_too() -> None:
    try:
        packets, got, _ = await send_burst(5, use_sendmmsg=True, host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    assert got == packets


def test_only_numeric_addresses_are_batched() -> None:
    assert sockaddr(("127.0.0.1", 5000)) is not None
    assert len(sockaddr(("127.0.0.1", 5000)) or b"") == 16
    assert len(sockaddr(("::1", 5000, 0, 0)) or b"") == 28
    assert sockaddr(("example.org", 5000)) is None
