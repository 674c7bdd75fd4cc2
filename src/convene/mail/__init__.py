"""Outgoing and incoming email: the outbox, the SMTP sender, iMIP replies."""
