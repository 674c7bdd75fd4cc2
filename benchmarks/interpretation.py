"""Interpretation channels: handover gap and overlap, a listener's channel switch, machine voice.

A real ``convene serve`` (and its Janus) in its own process; aiortc peers speak and listen
through its signaling as clients do. The host speaks on the floor (a 440 Hz tone); Anna and Bert
are the two partners of the "fr" booth and publish 660 Hz and 880 Hz into the channel; Lena
listens to "fr", subscribed to the floor and to both partners' feeds, and stamps every RTP
packet as it arrives, per mid (before aiortc's jitter buffer). Measured:

- **handover**: the live partner hands over to the other (``interpretation.handover`` and
  ``interpretation.handover.accept``), back and forth ``--handovers`` times. At Lena, the
  *switch interval* is the first packet of the new partner's feed minus the last packet of the
  old one: the *gap* (time with neither interpreter's audio arriving) is what exceeds one packet
  interval (20 ms), the *overlap* (both arriving) its negative part. Also the time from the
  accept being sent to the new partner's first packet;
- **channel switch**: a listener on the floor (its subscriber connection up, the floor playing)
  picks "fr" (``interpretation.listen``, then ``subscribe`` to the channel's feeds and answer the
  renegotiation); the time from the listen request to the first packet of the channel's live
  feed, ``--switches`` times, each by a fresh listener.

- **machine channel**: in a meeting with captions on (an in-process server and its embedded
  worker, as ``benchmarks/captions.py --through-signaling``), the host speaks ``--machine-clips``
  LibriVox clips in English, each followed by 8 s of silence, with the "es" machine channel
  open; per clip, the time from the end of its speech to the first synthesised sound a listener
  of "es" decodes (peak above 1,000 after 0.6 s of quiet), beside the time to the Spanish
  caption final a reader of "es" gets.

Prints figures, asserts nothing; run it in the media namespace:

    sudo ip netns exec convene-test .venv/bin/python benchmarks/interpretation.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `tests` and `benchmarks` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from benchmarks._common import ConveneProcess, run_benchmark, running_convene  # noqa: E402
from benchmarks.captions import (  # noqa: E402
    AFTER,
    LOUD,
    START,
    Spoken,
    TimedEvents,
    TimedSpeechTrack,
)
from benchmarks.speech import pct  # noqa: E402
from tests.media.tones import ListeningPeer, ToneTrack  # noqa: E402
from tests.support.janus import media_settings  # noqa: E402
from tests.support.peer import TestPeer  # noqa: E402
from tests.support.server import running_server  # noqa: E402
from tests.support.signal import SignalClient  # noqa: E402
from tests.worker.audio import (  # noqa: E402
    OPUS_RATE,
    clip_path,
    read_48k_stereo,
    silence_48k,
    transcripts,
)

FLOOR, FR_A, FR_B = 440.0, 660.0, 880.0
PACKET = 0.020  # seconds of audio per Opus packet the peers send
QUIET = 0.3  # a feed is stopped once no packet arrived for this long
BOUND = 15.0  # bound on every wait (not a measurement)
MACHINE_PAUSE = 8.0  # seconds of silence after each clip spoken for the machine channel


@dataclass
class Member:
    name: str
    signal: SignalClient
    peer: ListeningPeer
    feed: int | None = None
    received: dict[str, int] = field(default_factory=dict)  # subscriber mid -> feed
    senders: list[TestPeer] = field(default_factory=list)
    snapshot: dict[str, Any] = field(default_factory=dict)  # the join reply's

    @property
    def pid(self) -> str:
        assert self.signal.participant_id is not None
        return self.signal.participant_id

    async def publish(self, source: str, frequency: float) -> None:
        sender = TestPeer(f"{self.name} {source}", video=False)
        sender.audio_track = ToneTrack(frequency)  # type: ignore[assignment]
        self.senders.append(sender)
        offer = await sender.create_offer()
        reply = await self.signal.request(
            "publish",
            {
                "source": source,
                "jsep": {"type": "offer", "sdp": offer},
                "audio": True,
                "video": False,
            },
        )
        self.feed = reply["feed"]
        await sender.apply_answer(reply["jsep"]["sdp"])

    async def subscribe(self, *feeds: int) -> None:
        # As a client does: once each feed is up (in the join snapshot, or announced since).
        known = {f["id"] for f in self.snapshot.get("feeds", [])}
        for feed in feeds:
            if feed not in known:
                await self.signal.wait_event("feed.added", lambda d, f=feed: d["feed"]["id"] == f)
        reply = await self.signal.request("subscribe", {"add": [{"feed": f} for f in feeds]})
        answer = await self.peer.answer_offer(reply["jsep"]["sdp"])
        await self.signal.request("subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}})
        for s in reply["streams"]:
            self.received[s["mid"]] = s["feed"]

    def mid_of(self, feed: int | None) -> str:
        return next(mid for mid, f in self.received.items() if f == feed)

    async def close(self) -> None:
        await self.signal.close()
        await self.peer.close()
        for sender in self.senders:
            await sender.close()


async def join(server: ConveneProcess, link: str, name: str, signal: SignalClient) -> Member:
    reply = await signal.join(link, display_name=name)
    if reply["state"] != "joined":
        raise RuntimeError(f"{name} is {reply['state']}, not joined")
    return Member(name, signal, ListeningPeer(name), snapshot=reply["snapshot"])


def booth_live(info: dict[str, Any]) -> str | None:
    fr = next((b for b in info["booths"] if b["id"] == "fr"), None)
    return None if fr is None else fr["live"]


def channel_feeds(info: dict[str, Any]) -> list[int]:
    fr = next((c for c in info["channels"] if c["language"] == "fr"), None)
    return [] if fr is None else list(fr["feeds"])


async def until(predicate: Callable[[], bool], what: str, bound: float = BOUND) -> None:
    deadline = time.monotonic() + bound
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def stopped(peer: ListeningPeer, mid: str) -> bool:
    times = peer.packet_times.get(mid, [])
    return not times or time.monotonic() - times[-1] > QUIET


async def handover(old: Member, new: Member, lena: Member) -> dict[str, float]:
    """Hand the booth from ``old`` to ``new``; the packet times Lena saw around it."""
    old_mid, new_mid = lena.mid_of(old.feed), lena.mid_of(new.feed)
    await until(lambda: stopped(lena.peer, new_mid), f"{new.name}'s feed to be silent")
    mark = len(new.signal.events)
    await old.signal.request("interpretation.handover", {"to": new.pid})
    await new.signal.wait_event(
        "interpretation.updated",
        lambda d: any(b["handover"] and b["handover"]["to"] == new.pid for b in d["booths"]),
        after=mark,
        timeout=BOUND,
    )
    accepted = time.monotonic()
    await new.signal.request("interpretation.handover.accept")
    await until(lambda: lena.peer.packets_since(new_mid, accepted) > 0, f"{new.name}'s audio")
    await until(lambda: stopped(lena.peer, old_mid), f"{old.name}'s feed to stop")
    first_new = next(t for t in lena.peer.packet_times[new_mid] if t >= accepted)
    last_old = lena.peer.packet_times[old_mid][-1]
    interval = first_new - last_old
    # Each packet carries the 20 ms of audio that follow its arrival.
    return {
        "interval": interval,
        "gap": max(0.0, interval - PACKET),
        "overlap": max(0.0, PACKET - interval),
        "accept_to_new": first_new - accepted,
        "accept_to_old_stop": last_old - accepted,
    }


async def switch(server: ConveneProcess, link: str, hana: Member, index: int) -> dict[str, float]:
    """A fresh listener on the floor picks "fr": seconds from the listen request to the first
    packet of the channel's live feed."""
    listener = await join(server, link, f"Listener {index}", await server.signal())
    try:
        await listener.subscribe(hana.feed)  # type: ignore[arg-type]
        floor_mid = listener.mid_of(hana.feed)
        await until(lambda: listener.peer.packets_since(floor_mid, 0) > 10, "the floor")
        # The snapshot's, or the latest event's if one came since.
        infos = [e["data"] for e in listener.signal.events if e["type"] == "interpretation.updated"]
        info = infos[-1] if infos else listener.snapshot["interpretation"]
        live = booth_live(info)
        if live is None:
            raise RuntimeError("nobody is live in the fr booth")
        started = time.monotonic()
        await listener.signal.request("interpretation.listen", {"channel": "fr"})
        listened = time.monotonic()
        feeds = channel_feeds(info)
        reply = await listener.signal.request("subscribe", {"add": [{"feed": f} for f in feeds]})
        offered = time.monotonic()
        answer = await listener.peer.answer_offer(reply["jsep"]["sdp"])
        await listener.signal.request(
            "subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}}
        )
        answered = time.monotonic()
        live_feed = next(s["feed"] for s in reply["streams"] if s["participant_id"] == live)
        live_mid = next(s["mid"] for s in reply["streams"] if s["feed"] == live_feed)
        await until(lambda: listener.peer.packets_since(live_mid, started) > 0, "channel audio")
        return {
            "first_packet": listener.peer.packet_times[live_mid][0] - started,
            "listen_reply": listened - started,
            "subscribe_offer": offered - started,
            "answer_reply": answered - started,
        }
    finally:
        await listener.close()


def speech_program(names: list[str], pause: float) -> tuple[np.ndarray, list[Spoken]]:
    """``benchmarks.captions.program`` with ``pause`` seconds of silence after each clip."""
    parts, spoken, at = [], [], 0
    for name in names:
        mono = read_48k_stereo(clip_path(name)).reshape(-1, 2)[:, 0].copy()
        loud = np.flatnonzero(np.abs(mono.astype(np.int32)) > LOUD)
        spoken.append(Spoken(name, (at + loud[0]) / OPUS_RATE, (at + loud[-1]) / OPUS_RATE))
        parts += [mono, silence_48k(pause)[::2]]
        at += len(mono) + len(parts[-1])
    return np.concatenate(parts).astype(np.int16), spoken


async def measure_machine(clips: int, model: str) -> dict[str, Any]:
    """A machine channel beside translated captions, in one meeting of an in-process server
    (its embedded captions worker): Hana speaks the LibriVox clips in English with captions on
    and the "es" machine channel open; Carol reads Spanish captions, Lena listens to "es". Per
    clip: end of its speech -> Carol's Spanish final, and -> the first synthesised sound Lena
    decodes after it."""
    names = sorted(transcripts())[:clips]
    # A longer pause after each clip than captions.py's 1.5 s: the voice has said one clip's
    # translation before the next clip ends, so each utterance starts on its own and is timed.
    samples, spoken = speech_program(names, MACHINE_PAUSE)
    track = TimedSpeechTrack(samples)
    speaker = TestPeer("hana", video=False)
    speaker.audio_track = track  # type: ignore[assignment]
    lena = ListeningPeer("lena")
    clients: list[SignalClient] = []
    speech = {"default_models": {"en": model, "*": "base"}}
    with tempfile.TemporaryDirectory() as tmp:
        async with running_server(Path(tmp), janus=media_settings(), speech=speech) as server:
            try:
                owner = await server.sign_up("hana@example.org", "Hana")
                info = await owner.create_meeting(waiting_room=False)
                link = info["link_token"]
                host = await SignalClient.connect(server, owner)
                clients.append(host)
                await host.join(link, spoken_language="en")
                readers: dict[str, SignalClient] = {}
                for name in ("Carol", "Lena"):
                    person = server.guest()
                    await person.meeting_info(link)
                    client = await SignalClient.connect(server, person)
                    client.events = TimedEvents()
                    await client.join(link, display_name=name)
                    clients.append(client)
                    readers[name] = client
                carol, listener = readers["Carol"], readers["Lena"]
                await carol.request("captions.read", {"reading": "es"})

                reply = await host.request(
                    "publish",
                    {
                        "jsep": {"type": "offer", "sdp": await speaker.create_offer()},
                        "audio": True,
                        "video": False,
                    },
                )
                await speaker.apply_answer(reply["jsep"]["sdp"])
                await host.wait_event("feed.added", timeout=BOUND)
                await host.request("captions.start")
                await host.wait_event(
                    "captions.updated", lambda d: d["active"] and d["transcribing"], timeout=START
                )
                await host.request("interpretation.machine", {"language": "es", "on": True})

                def machine_feeds(d: dict[str, Any]) -> list[int]:
                    es = [c for c in d["channels"] if c["language"] == "es"]
                    return list(es[0]["feeds"]) if es and es[0]["kind"] == "machine" else []

                updated = await listener.wait_event(
                    "interpretation.updated", lambda d: bool(machine_feeds(d)), timeout=START
                )
                [feed] = machine_feeds(updated)
                await listener.request("interpretation.listen", {"channel": "es"})
                reply = await listener.request("subscribe", {"add": [{"feed": feed}]})
                answer = await lena.answer_offer(reply["jsep"]["sdp"])
                await listener.request(
                    "subscriber.answer", {"jsep": {"type": "answer", "sdp": answer}}
                )
                [stream] = reply["streams"]
                mid = stream["mid"]

                captions = server.app.state.captions
                meeting = info["id"]

                def forwarded() -> bool:
                    status = captions.status(meeting)
                    return status is not None and any(
                        p.port is not None for p in status.publishers.values()
                    )

                await until(forwarded, "the speaker's audio forwarded to the worker", START)
                await asyncio.sleep(1.0)
                track.play()

                def finals() -> list[dict[str, Any]]:
                    return [
                        e for e in carol.events if e["type"] == "caption" and e["data"]["final"]
                    ]

                # Bounds, not measurements: every final, then the last one spoken.
                with contextlib.suppress(RuntimeError):
                    await until(
                        lambda: len(finals()) >= len(spoken),
                        "every final",
                        spoken[-1].end + MACHINE_PAUSE + AFTER,
                    )
                await asyncio.sleep(5.0)
            finally:
                await lena.close()
                await speaker.close()
                for client in clients:
                    await client.close()
    t0 = track.started_at
    if t0 is None:
        raise RuntimeError("the speech never started")
    # Decode times are monotonic; the clip ends are wall clock.
    to_wall = time.time() - time.monotonic()
    onsets = [t + to_wall for t in lena.onsets(mid)]
    arrivals = [e["_at"] for e in finals()]
    caption_latency, voice_latency = [], []
    used_caption = used_voice = 0
    for clip in spoken:
        end = t0 + clip.end
        after = [t for t in arrivals[used_caption:] if t > end - 0.3]
        caption_latency.append(after[0] - end if after else float("nan"))
        if after:
            used_caption = arrivals.index(after[0]) + 1
        heard = [t for t in onsets[used_voice:] if t > end - 0.3]
        voice_latency.append(heard[0] - end if heard else float("nan"))
        if heard:
            used_voice = onsets.index(heard[0]) + 1
    return {
        "clips": names,
        "caption_es": caption_latency,
        "voice_es": voice_latency,
        "caption_p50": pct(caption_latency, 0.5),
        "caption_p95": pct(caption_latency, 0.95),
        "voice_p50": pct(voice_latency, 0.5),
        "voice_p95": pct(voice_latency, 0.95),
        "onsets": len(onsets),
        "translated": sum(1 for e in finals() if e["data"]["translated"]),
    }


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": pct(values, 0.5), "p95": pct(values, 0.95), "max": max(values)}


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs, {model}"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    loads = [os.getloadavg()[0]]
    print(f"{machine()}; load {loads[0]:.2f}")
    out: dict[str, Any] = {"machine": machine()}
    async with running_convene() as server:
        owner = await server.sign_up("hana@example.org", "Hana")
        meeting = await owner.create_meeting(waiting_room=False)
        link = meeting["link_token"]
        hana = await join(server, link, "Hana", await server.signal(owner))
        anna = await join(server, link, "Anna", await server.signal())
        bert = await join(server, link, "Bert", await server.signal())
        lena = await join(server, link, "Lena", await server.signal())
        members = [hana, anna, bert, lena]
        try:
            for member in (anna, bert):
                await hana.signal.request(
                    "interpretation.assign", {"participant": member.pid, "languages": ["fr"]}
                )
            await hana.publish("main", FLOOR)
            await anna.publish("interpretation", FR_A)
            await bert.publish("interpretation", FR_B)
            info = await lena.signal.wait_event(
                "interpretation.updated",
                lambda d: (
                    booth_live(d) == anna.pid and set(channel_feeds(d)) == {anna.feed, bert.feed}
                ),
                timeout=BOUND,
            )
            await lena.signal.request("interpretation.listen", {"channel": "fr"})
            await lena.subscribe(hana.feed, *channel_feeds(info))  # type: ignore[arg-type]
            await until(lambda: lena.peer.hears(lena.mid_of(anna.feed), FR_A), "Anna's tone")

            rows = []
            for i in range(args.handovers):
                old, new = (anna, bert) if i % 2 == 0 else (bert, anna)
                rows.append(await handover(old, new, lena))
            out["handover"] = {k: summary([r[k] for r in rows]) for k in rows[0]}
            out["handover"]["count"] = len(rows)
            out["handover"]["with_gap"] = sum(1 for r in rows if r["gap"] > 0)
            out["handover"]["with_overlap"] = sum(1 for r in rows if r["overlap"] > 0)
            out["handover"]["rows"] = rows
            loads.append(os.getloadavg()[0])
            h = out["handover"]
            ms = 1000.0
            print(
                f"\nhandover, {len(rows)} times (load {loads[-1]:.2f}), at the listener:\n"
                f"  switch interval (new first - old last) p50 {h['interval']['p50'] * ms:.1f} ms, "
                f"p95 {h['interval']['p95'] * ms:.1f} ms\n"
                f"  gap (beyond one 20 ms packet) p50 {h['gap']['p50'] * ms:.1f} ms, "
                f"p95 {h['gap']['p95'] * ms:.1f} ms, max {h['gap']['max'] * ms:.1f} ms "
                f"({h['with_gap']} of {len(rows)} with a gap)\n"
                f"  overlap p50 {h['overlap']['p50'] * ms:.1f} ms, "
                f"p95 {h['overlap']['p95'] * ms:.1f} ms, max {h['overlap']['max'] * ms:.1f} ms "
                f"({h['with_overlap']} of {len(rows)} with an overlap)\n"
                f"  accept sent -> new partner's first packet p50 "
                f"{h['accept_to_new']['p50'] * ms:.1f} ms, "
                f"p95 {h['accept_to_new']['p95'] * ms:.1f} ms"
            )

            # Bert or Anna is live now, whoever had it last; the listeners find out themselves.
            steps = [await switch(server, link, hana, i) for i in range(args.switches)]
            out["switch"] = {k: summary([r[k] for r in steps]) for k in steps[0]}
            out["switch"]["count"] = len(steps)
            out["switch"]["rows"] = steps
            loads.append(os.getloadavg()[0])
            print(f"\nchannel switch, {len(steps)} listeners (load {loads[-1]:.2f}), from listen:")
            for key, label in (
                ("listen_reply", "listen replied"),
                ("subscribe_offer", "subscribe replied (Janus's offer)"),
                ("answer_reply", "answer applied and replied"),
                ("first_packet", "first channel packet"),
            ):
                v = out["switch"][key]
                print(
                    f"  {label}: p50 {v['p50'] * ms:.1f} ms, p95 {v['p95'] * ms:.1f} ms, "
                    f"max {v['max'] * ms:.1f} ms"
                )
        finally:
            for member in members:
                await member.close()
    if args.machine_clips:
        m = await measure_machine(args.machine_clips, args.model)
        out["machine"] = m
        loads.append(os.getloadavg()[0])
        print(
            f"\nmachine channel es, {len(m['clips'])} clips, {args.model} (load {loads[-1]:.2f}), "
            f"end of speech ->\n"
            f"  Spanish caption final: p50 {m['caption_p50']:.2f} s, p95 {m['caption_p95']:.2f} s "
            f"({m['translated']} translated; "
            f"each {', '.join(f'{v:.2f}' for v in m['caption_es'])})\n"
            f"  synthesised Spanish heard: p50 {m['voice_p50']:.2f} s, p95 {m['voice_p95']:.2f} s "
            f"(each {', '.join(f'{v:.2f}' for v in m['voice_es'])}; {m['onsets']} onsets)"
        )
    out["load"] = loads
    print(f"\nload averages during the run: {', '.join(f'{v:.2f}' for v in loads)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--handovers", type=int, default=20)
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument(
        "--machine-clips",
        type=int,
        default=5,
        help="LibriVox clips spoken for the machine channel (0: skip it)",
    )
    parser.add_argument("--model", default="tiny.en", help="the captions' English model")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    run_benchmark("interpretation.py", lambda: run(args), args.json)


if __name__ == "__main__":
    main()
