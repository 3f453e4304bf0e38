"""The command line (``locations``), the top layer: it wires the core (``locations``), the
pages (``maps``) and the server (``api``) together and may import all of them; nothing
imports it."""
