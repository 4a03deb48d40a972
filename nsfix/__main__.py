"""Entry point for `python -m nsfix`."""

from nsfix.cli import main

main()
