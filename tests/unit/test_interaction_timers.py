"""The timers Q&A and polls share: a coalescer that sends a record at once after a quiet
interval and otherwise once its interval is over, and a save-behind task that stops when
nothing is left and keeps trying while saving fails."""

from __future__ import annotations

import asyncio

from convene.interaction.timers import Coalescer, SaveBehind


async def test_a_burst_of_changes_is_sent_first_and_last() -> None:
    lock = asyncio.Lock()
    c = Coalescer(0.05)
    sent: list[tuple[str, int]] = []
    version = {"a": 0, "b": 0}

    def send(key: str) -> bool:
        sent.append((key, version[key]))
        c.sent(key)
        return True

    async with lock:
        version["a"] += 1
        assert c.changed("a")
        send("a")
        for _ in range(100):
            version["a"] += 1
            assert not c.changed("a")
        # Another record's first change goes at once.
        version["b"] += 1
        assert c.changed("b")
        send("b")
        assert c.start()
        # One flush at a time.
        assert not c.start()
    await asyncio.wait_for(c.flush(lock, send, lambda: False, "test"), 5)
    assert sent == [("a", 1), ("b", 1), ("a", 101)]
    assert not c.pending
    # The flush is over: the next burst starts another.
    assert c.start()


async def test_a_record_gone_meanwhile_is_forgotten() -> None:
    lock = asyncio.Lock()
    c = Coalescer(0.01)
    c.sent("x")
    assert not c.changed("x")
    assert c.start()
    await asyncio.wait_for(c.flush(lock, lambda key: False, lambda: False, "test"), 5)
    assert not c.pending


async def test_saving_behind_stops_when_nothing_is_left_and_retries_failures() -> None:
    s = SaveBehind(0.01)
    outcomes: list[str] = []
    script = ["fail", "saved", "nothing"]

    async def save() -> bool:
        step = script.pop(0)
        outcomes.append(step)
        if step == "fail":
            raise OSError("database down")
        if step == "nothing":
            s.running = False
            return False
        return True

    assert s.start()
    assert not s.start()
    await asyncio.wait_for(s.run(save, "test"), 5)
    assert outcomes == ["fail", "saved", "nothing"]
    assert s.start()
