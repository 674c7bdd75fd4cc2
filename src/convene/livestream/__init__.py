"""Livestreaming a meeting: the composer (:mod:`convene.livestream.composer`) turns the
program's video and every language's audio and captions into HLS, and optionally RTMP."""
