"""Bullet comments: the word filter and the batch sampler (the rules, without I/O); the live
meeting's feature is :mod:`convene.signaling.features.comments`."""
