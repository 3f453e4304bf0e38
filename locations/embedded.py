"""The embedded PostgreSQL + PostGIS cluster the platform runs itself when no DATABASE_URL is set.

The cluster lives in a folder of the project (``.data/pg``): ``cluster/`` is the
data directory, ``server.log`` its log, ``port`` the loopback port chosen at
initialisation. PostgreSQL refuses to run as root, so when this process is
root every server command runs as the ``postgres`` system user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from locations.errors import DatabaseUnavailable

#: Given at every start, so clusters made by an older version get them too. A first import
#: of a million plots writes about 3 GB of WAL; with the default 1 GB the server checkpoints
#: every half minute of it and rewrites whole pages after each checkpoint. ``minimal`` WAL
#: (nothing here streams to a replica) lets a first load write its renewed tables without
#: WAL: 106 s -> 79 s for a million plots.
BULK_LOAD_SETTINGS = (
    ("max_wal_size", "4GB"),
    ("checkpoint_timeout", "15min"),
    ("wal_compression", "lz4"),
    ("wal_level", "minimal"),
    ("max_wal_senders", "0"),
)


@dataclass(frozen=True)
class EmbeddedStatus:
    """What runs where."""

    folder: Path
    initialised: bool
    running: bool
    port: int | None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"


class EmbeddedCluster:
    """A PostgreSQL cluster in ``folder``, using the server binaries in ``pg_bin``."""

    def __init__(self, folder: Path, pg_bin: Path, *, fast_unsafe: bool = False) -> None:
        self.folder = Path(folder).resolve()
        self.pg_bin = Path(pg_bin)
        # Throwaway test clusters trade durability for speed; a user's cluster never does.
        self.fast_unsafe = fast_unsafe

    @property
    def data_dir(self) -> Path:
        return self.folder / "cluster"

    @property
    def log_file(self) -> Path:
        return self.folder / "server.log"

    @property
    def port_file(self) -> Path:
        return self.folder / "port"

    # -- running commands as the right user -------------------------------------------------

    def _as_server_user(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, check=check, capture_output=True, text=True, cwd="/")

    def _require_binaries(self) -> None:
        if not (self.pg_bin / "initdb").exists():
            raise DatabaseUnavailable(
                f"PostgreSQL server binaries not found in {self.pg_bin}. Install them with "
                "'make run' (or: apt-get install postgresql-15 postgresql-15-postgis-3), "
                "or set DATABASE_URL to use an existing PostGIS server."
            )
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise DatabaseUnavailable(
                    "Running as root needs the 'postgres' system user to run the server; "
                    "install the postgresql-15 package or run as an ordinary user."
                ) from exc

    # -- lifecycle ----------------------------------------------------------------------------

    def status(self) -> EmbeddedStatus:
        initialised = (self.data_dir / "PG_VERSION").exists()
        port = int(self.port_file.read_text()) if self.port_file.exists() else None
        running = False
        if initialised:
            result = self._as_server_user(
                [str(self.pg_bin / "pg_ctl"), "status", "-D", str(self.data_dir)], check=False
            )
            running = result.returncode == 0
        return EmbeddedStatus(self.folder, initialised, running, port)

    def init(self) -> None:
        """Create the cluster if it does not exist yet (harmless when it does)."""
        self._require_binaries()
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port_file.write_text(str(_free_port()))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(self.port_file, "postgres", "postgres")
            _allow_traversal(self.folder)
        self._as_server_user(
            [
                str(self.pg_bin / "initdb"),
                "-D", str(self.data_dir),
                "-U", "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {int(self.port_file.read_text())}",
            # A Unix socket would need a short, writable path; loopback TCP is enough.
            "unix_socket_directories = ''",
            "max_connections = 200",
            "shared_buffers = '256MB'",
            "work_mem = '32MB'",
            "maintenance_work_mem = '512MB'",
        ]
        if self.fast_unsafe:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        conf = self.data_dir / "postgresql.auto.conf"
        with conf.open("a") as handle:
            handle.write("\n".join(settings) + "\n")

    def start(self, database: str) -> EmbeddedStatus:
        """Initialise if needed, start if stopped, and make sure ``database`` has PostGIS."""
        self.init()
        current = self.status()
        if not current.running:
            result = self._as_server_user(
                [
                    str(self.pg_bin / "pg_ctl"), "start", "-w", "-t", "60",
                    "-D", str(self.data_dir), "-l", str(self.log_file),
                    "-o", " ".join(f"-c {name}={value}" for name, value in BULK_LOAD_SETTINGS),
                ],
                check=False,
            )
            if result.returncode != 0:
                log_tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise DatabaseUnavailable(
                    f"The embedded PostgreSQL in {self.folder} did not start "
                    f"(port {current.port}).\n{result.stderr.strip()}\n{log_tail}"
                )
        current = self.status()
        _wait_until_accepting(current.port)
        _ensure_database(current.port, database)
        return current

    def stop(self) -> bool:
        """Stop the server; returns False when it was not running."""
        if not self.status().running:
            return False
        self._as_server_user(
            [str(self.pg_bin / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.data_dir)]
        )
        return True

    def destroy(self) -> None:
        """Stop and delete the cluster (used by throwaway test clusters)."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _allow_traversal(folder: Path) -> None:
    # The postgres user must be able to walk down to the cluster folder.
    for parent in folder.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
        if parent == Path("/"):
            break


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_accepting(port: int | None, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres").close()
            return
        except psycopg2.OperationalError:
            if time.monotonic() > deadline:
                raise DatabaseUnavailable(
                    f"The embedded PostgreSQL on 127.0.0.1:{port} does not accept connections."
                ) from None
            time.sleep(0.2)


def _ensure_database(port: int | None, database: str) -> None:
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{database}"')
    conn.close()
    conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname=database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()
