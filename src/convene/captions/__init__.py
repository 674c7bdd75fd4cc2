"""Captions on the server: which worker transcribes which live meeting, and what comes back.

:mod:`~convene.captions.service` (the API a meeting's feature module calls, the leases and the
forwards), :mod:`~convene.captions.link` (the WebSocket a worker links to),
:mod:`~convene.captions.results` (a caption result and its bus subject) and
:mod:`~convene.captions.embedded` (the worker the server starts as a child process).
"""
