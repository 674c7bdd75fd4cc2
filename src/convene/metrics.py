"""Prometheus metrics, defined in one place so every module records into the same names.

A leaf module: anything may import it, it imports nothing of Convene. Served at ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "CAPTIONS_DROPPED_PARTIALS",
    "CAPTIONS_FINALS",
    "CAPTIONS_MEETINGS",
    "CAPTIONS_WORKERS",
    "CAPTIONS_WORST_LAG",
    "HTTP_REQUESTS",
    "JANUS_REQUESTS",
    "JANUS_REQUEST_SECONDS",
    "JANUS_UP",
    "MEETINGS_LIVE",
    "PARTICIPANTS",
    "REGISTRY",
    "SIGNALING_ERRORS",
    "SIGNALING_MESSAGES",
    "TRANSLATION_CALLS",
    "WS_CONNECTIONS",
    "WS_DROPPED_SLOW",
]

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "convene_http_requests",
    "HTTP requests served",
    ["method", "route", "status"],
    registry=REGISTRY,
)
WS_CONNECTIONS = Gauge(
    "convene_ws_connections", "Open signaling WebSocket connections", registry=REGISTRY
)
WS_DROPPED_SLOW = Counter(
    "convene_ws_dropped_slow",
    "Connections closed because their send queue overflowed",
    registry=REGISTRY,
)
SIGNALING_MESSAGES = Counter(
    "convene_signaling_messages", "Signaling requests received", ["type"], registry=REGISTRY
)
SIGNALING_ERRORS = Counter(
    "convene_signaling_errors", "Signaling error replies sent", ["code"], registry=REGISTRY
)
MEETINGS_LIVE = Gauge(
    "convene_meetings_live", "Meetings with a live room on this node", registry=REGISTRY
)
PARTICIPANTS = Gauge(
    "convene_participants",
    "Participants in live meetings on this node",
    ["state"],
    registry=REGISTRY,
)
JANUS_REQUESTS = Counter(
    "convene_janus_requests", "Requests sent to Janus", ["request", "outcome"], registry=REGISTRY
)
JANUS_REQUEST_SECONDS = Histogram(
    "convene_janus_request_seconds",
    "Janus request round-trip time",
    ["request"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
JANUS_UP = Gauge("convene_janus_up", "Janus servers currently answering", registry=REGISTRY)

# Captions: the gauges are read from the captions service when /metrics is scraped.
CAPTIONS_WORKERS = Gauge(
    "convene_captions_workers", "Captions workers linked to this node", registry=REGISTRY
)
CAPTIONS_MEETINGS = Gauge(
    "convene_captions_meetings",
    "Captioned meetings on this node, assigned to a worker or waiting for one",
    ["state"],
    registry=REGISTRY,
)
CAPTIONS_WORST_LAG = Gauge(
    "convene_captions_worst_lag_seconds",
    "Seconds of audio waiting in the worst speech stream of a linked worker (last heartbeats)",
    registry=REGISTRY,
)
CAPTIONS_DROPPED_PARTIALS = Counter(
    "convene_captions_dropped_partials",
    "Partial captions workers dropped under load (finals are never dropped)",
    registry=REGISTRY,
)
CAPTIONS_FINALS = Counter(
    "convene_captions_finals",
    "Final captions received from workers, by the language they are in",
    ["language"],
    registry=REGISTRY,
)
TRANSLATION_CALLS = Counter(
    "convene_translation_calls",
    "Translation requests to engines (one per hop of a route; cache hits make none)",
    ["engine", "outcome"],
    registry=REGISTRY,
)
