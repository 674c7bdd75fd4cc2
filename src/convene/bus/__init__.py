"""Event buses: in-process (default) and Redis, behind :class:`convene.bus.base.Bus`."""
