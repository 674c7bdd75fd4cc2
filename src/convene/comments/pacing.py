"""How often an audience's batches go out: the base interval, or longer for a large audience.

Every batch is written to every socket of the meeting, so its cost grows with the audience
(benchmarks/README.md, "An event's audience on one node": about 160 µs of CPU per socket per
batch on a 2-core VM, so 1.6 s for 10,000). At a fixed 250 ms a lively audience of 10,000 would
need six cores' worth of fan-out from one event loop: the queues would grow until slow readers
are dropped. So the interval grows with the number of people once the base interval no longer
covers :data:`PER_PERSON_MS` for each: 250 ms up to 1,250 people, 2 s at 10,000 (comments);
500 ms up to 2,500, 2 s at 10,000 (reactions).
"""

from __future__ import annotations

__all__ = ["PER_PERSON_MS", "interval_ms"]

# Fan-out time budgeted per person in the meeting, per batch.
PER_PERSON_MS = 0.2


def interval_ms(base_ms: int, people: int) -> int:
    """The interval for a meeting of ``people``: ``base_ms``, or more for a large audience."""
    return max(base_ms, round(people * PER_PERSON_MS))
