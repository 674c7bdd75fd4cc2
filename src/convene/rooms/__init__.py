"""Live meeting state: who is in, with which role, and what each may do. No I/O here."""
