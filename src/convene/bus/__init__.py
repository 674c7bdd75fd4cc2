"""Event buses: in-process (default) and Redis, behind :class:`convene.bus.base.Bus`."""

from __future__ import annotations

from convene.bus.base import Bus, BusError, Handler, Subscription

__all__ = ["Bus", "BusError", "Handler", "Subscription", "create_bus"]

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def create_bus(url: str) -> Bus:
    """Return the bus for ``url``: ``memory://`` (one node) or ``redis://host:6379/0``.

    ``rediss://`` (Redis over TLS) and ``unix:///path/to/redis.sock`` work too. The bus is not
    started: call ``await bus.start()`` before use and ``await bus.close()`` at shutdown.
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        # The URL may hold a password: name the expected forms, never the value.
        raise ValueError("the bus URL must start with memory://, redis://, rediss:// or unix://")
    if scheme == "memory":
        from convene.bus.memory import MemoryBus

        return MemoryBus()
    if scheme in _REDIS_SCHEMES:
        # Imported here so that a single node never loads the Redis client.
        from convene.bus.redis import RedisBus

        return RedisBus(url)
    raise ValueError("the bus URL must start with memory://, redis://, rediss:// or unix://")
