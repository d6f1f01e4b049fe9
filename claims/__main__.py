"""``python -m claims``: the same command line as the ``claims`` console script."""

from claims.cli import main

main()
