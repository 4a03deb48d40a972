"""Command-line shell of nsfix (placeholder until the inventory command lands)."""


def main() -> None:
    raise SystemExit("nsfix: not built yet")
