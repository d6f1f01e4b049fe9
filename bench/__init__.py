"""Benchmarks of claims against the physical limit and the best-known Python event store (``make bench``)."""
