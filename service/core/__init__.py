"""Shared basics every wing may import: settings, errors, metrics, the comment's schema."""
