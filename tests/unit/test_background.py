"""The owner of periodic jobs: runs, wakes, survives failures, stops cleanly."""

from __future__ import annotations

import asyncio

from convene.background import Background


async def test_a_wake_during_a_run_is_not_lost() -> None:
    background = Background()
    started = asyncio.Event()
    release = asyncio.Event()
    runs = 0

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            started.set()
            await release.wait()

    background.add("job", job, interval=3600)
    background.start()
    for _ in range(100):
        if background.runs("job") >= 1:
            break
        await asyncio.sleep(0.01)
    background.wake("job")
    await started.wait()
    background.wake("job")  # arrives while run 2 is going on
    release.set()
    for _ in range(200):
        if runs >= 3:
            break
        await asyncio.sleep(0.01)
    assert runs >= 3
    await background.stop()


async def test_failures_are_retried_and_stop_waits_for_a_run_to_finish() -> None:
    background = Background(stop_timeout=5)
    calls = 0
    finished = False

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first run fails")

    async def slow() -> None:
        nonlocal finished
        await asyncio.sleep(0.2)
        finished = True

    background.add("flaky", flaky, interval=0.01)
    background.add("slow", slow, interval=3600)
    background.start()
    for _ in range(200):
        if calls >= 2:
            break
        await asyncio.sleep(0.01)
    assert calls >= 2
    await background.stop()
    assert finished


async def test_a_service_is_cancelled_at_once_when_stopping() -> None:
    background = Background(stop_timeout=30)
    serving = asyncio.Event()
    cancelled = False

    async def serve() -> None:
        nonlocal cancelled
        serving.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled = True
            raise

    background.add("server", serve, interval=1, service=True)
    background.start()
    await serving.wait()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await background.stop()
    assert cancelled
    assert loop.time() - began < 5  # not the 30 s a periodic job would be given
