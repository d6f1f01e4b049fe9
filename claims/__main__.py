"""The ``claims`` console script and ``python -m claims``: the command line, started with the
cyclic garbage collector paused until the command has loaded what it needs (``claims.startup``)."""

from claims import startup


def main() -> None:
    startup.pause()
    from claims.cli import main as run

    run()


if __name__ == "__main__":
    main()
