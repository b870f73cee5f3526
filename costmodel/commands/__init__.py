"""CLI subcommands; each module has ``register(subparsers)`` and imports heavy libraries lazily."""
