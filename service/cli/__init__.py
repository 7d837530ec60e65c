"""The ``moderation`` command (entry point ``service.cli.main:main``)."""
