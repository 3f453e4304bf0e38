"""The command line's former address, kept so that ``python -m locations.cli`` and
``from locations.cli import app`` go on working. The command line is the package ``cli``,
the top layer; no module of the core imports this one."""

from cli.main import app, uvicorn_proxy_options

__all__ = ["app", "uvicorn_proxy_options"]

if __name__ == "__main__":
    app()
