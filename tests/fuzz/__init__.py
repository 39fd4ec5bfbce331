"""Property and fuzz tests: hostile input, generated; each suite bounded to seconds."""
