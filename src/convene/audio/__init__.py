"""Audio measurement shared by the server's worker and the tests (speech quality for
interpreters)."""
