"""The claims domain: events, the claim model and its invariants. Standard library only."""
