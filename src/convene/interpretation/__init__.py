"""Interpretation: booths, channels and who is live (the rules, without I/O); the live meeting's
feature is :mod:`convene.signaling.features.interpretation`."""
