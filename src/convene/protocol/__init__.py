"""Wire-level types shared by every other part of Convene: ids, error codes, messages."""
