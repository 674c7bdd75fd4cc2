"""The worker's machine voices: texts spoken in order as paced Opus RTP to a UDP port."""

from __future__ import annotations

import asyncio
import itertools

from convene.worker.rtp import RtpPacket, parse_rtp
from convene.worker.voice import MachineVoice, Voices
from tests.worker.processes import eventually


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[RtpPacket] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        packet = parse_rtp(data)
        assert packet is not None, "not RTP"
        self.packets.append(packet)


async def _receiver() -> tuple[asyncio.DatagramTransport, _Receiver, int]:
    loop = asyncio.get_running_loop()
    transport, receiver = await loop.create_datagram_endpoint(
        _Receiver, local_addr=("127.0.0.1", 0)
    )
    return transport, receiver, transport.get_extra_info("sockname")[1]


async def test_texts_are_spoken_in_order_and_a_bad_one_is_skipped() -> None:
    transport, receiver, port = await _receiver()
    voice = MachineVoice("m-1", "es", host="127.0.0.1", port=port, ssrc=1000)
    await voice.open()
    try:
        voice.say("   ")  # nothing to say: skipped, the voice goes on
        voice.say("Hola.")
        voice.say("Adiós.")
        await eventually(lambda: voice.spoken == 2, 20, "both texts spoken")
        await eventually(lambda: len(receiver.packets) == voice.packets, 5, "the last packets")
        packets = receiver.packets
        assert {p.ssrc for p in packets} == {1000}
        assert all((b.sequence - a.sequence) & 0xFFFF == 1 for a, b in itertools.pairwise(packets))
        starts = [i for i, p in enumerate(packets) if p.marker]
        assert starts[0] == 0
        assert len(starts) == 2  # one talkspurt per text
        # The pause between the two texts is in the timestamps, not in the sequence numbers.
        gap = packets[starts[1]].timestamp - packets[starts[1] - 1].timestamp
        assert gap & 0xFFFFFFFF >= 960
    finally:
        await voice.close()
        transport.close()


async def test_the_registry_refuses_what_it_cannot_speak() -> None:
    transport, receiver, port = await _receiver()
    try:
        none = Voices(binary="no-such-espeak", piper=False)
        assert none.languages == []
        await none.open("m-1", "es", host="127.0.0.1", port=port, ssrc=1000)
        none.say("m-1", "es", "Hola.")  # not open: nothing happens

        voices = Voices()
        assert voices.languages == ["ar", "en", "es", "fr", "ru", "zh"]
        await voices.open("m-1", "xx", host="127.0.0.1", port=port, ssrc=1000)
        await voices.open("m-1", "es", host="no-such-host.invalid", port=port, ssrc=1000)
        voices.say("m-1", "es", "Hola.")
        await voices.open("m-1", "fr", host="127.0.0.1", port=port, ssrc=1010)
        voices.say("m-1", "fr", "Bonjour.")
        await eventually(lambda: len(receiver.packets) > 10, 20, "French packets")
        assert {p.ssrc for p in receiver.packets} == {1010}
        await voices.close_meeting("m-1")
        await voices.close("m-1", "fr")  # closed already
    finally:
        transport.close()
