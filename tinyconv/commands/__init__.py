"""`tinyconv` subcommands that live outside cli.py (training, search, the zoo listing)."""
