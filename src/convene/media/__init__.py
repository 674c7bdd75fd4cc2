"""Media servers: the SFU boundary (:mod:`convene.media.base`) and its Janus implementation."""
