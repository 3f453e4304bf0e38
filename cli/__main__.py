"""``python -m cli``: the ``locations`` command line."""

from cli.main import app

app()
