"""Use cases: one handler per command, each inside one unit of work."""
