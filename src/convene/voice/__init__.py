"""Machine voices: a language's translated captions spoken by a local text-to-speech engine
into a feed of the meeting's media room (a *machine channel* of the interpretation feature)."""
