"""Projections: read tables folded from the log in the same transaction as each append.

Each projection keeps a checkpoint (the last position it folded). Claims are kept bitemporally:
``claim_versions`` holds what we had recorded for a claim over log positions ``[rec_from, rec_to)``
and ``claim_periods`` the said-date intervals ``[valid_from, valid_to)`` in which it stood, as known
over log positions ``[rec_from, rec_to)``. Every ``--as-of``/``--known-at`` question is then an
indexed lookup, never a replay of the log.
"""
