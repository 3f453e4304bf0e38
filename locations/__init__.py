"""Business-zone location management: the core (model, database, search, scoring, CLI)."""

__version__ = "0.1.0"
