"""The event log: its table, appends with expected versions, reads, and the hash chain."""
