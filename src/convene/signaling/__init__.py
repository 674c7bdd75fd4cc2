"""The signaling WebSocket: participants' sessions and the live meetings they act on."""
