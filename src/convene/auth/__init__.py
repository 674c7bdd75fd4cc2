"""Authentication and abuse limits: password hashing, sign-in sessions, CSRF, rate limits.

Used by the REST API and by the signaling WebSocket alike:

- :mod:`convene.auth.passwords` -- argon2id hashes, rehashed when the parameters change;
- :mod:`convene.auth.sessions` -- the ``convene_session`` and ``convene_guest`` cookies;
- :mod:`convene.auth.csrf` -- the ``X-CSRF-Token`` and ``Origin`` checks;
- :mod:`convene.auth.ratelimit` -- keyed in-memory limits and the client address behind proxies.
"""
