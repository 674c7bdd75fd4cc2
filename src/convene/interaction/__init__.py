"""Audience interaction, Q&A and polls: their records, who a person is, and the two timers a
live meeting's features share (coalesced sending, saving behind), without the protocol's I/O.
The features are :mod:`convene.signaling.features.qa` and
:mod:`convene.signaling.features.polls`."""
