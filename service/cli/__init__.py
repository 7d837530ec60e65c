"""The ``moderation`` command (entry point ``moderation.cli.main:main``)."""
