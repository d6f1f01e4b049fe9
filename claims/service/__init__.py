"""Handlers: a command in, events out, appended and folded through one unit of work."""
