"""The captions worker (``convene worker``): speech recognition apart from the server.

A worker links to a server node (:mod:`convene.worker.wire`), takes the leases of live
meetings the node offers, receives each publisher's Opus as RTP on a UDP port of its own
(:mod:`convene.worker.intake`, :mod:`convene.worker.rtp`), transcribes it with
:mod:`convene.speech` and sends the captions back. Media never passes through the server.
Nothing heavy is imported here: the server imports :mod:`convene.worker.wire` only.
"""
