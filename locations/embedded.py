"""The embedded PostgreSQL + PostGIS cluster the platform runs itself when no DATABASE_URL is set.

The cluster lives in a folder of the project (``.data/pg``): ``cluster/`` is the
data directory, ``server.log`` its log, ``port`` the loopback port chosen at
initialisation, ``password`` the superuser's password (mode 600, owned by the user
running the platform). PostgreSQL refuses to run as root, so when this process is
root every server command runs as the ``postgres`` system user.

Connections come over loopback TCP only and must give the role's password
(scram-sha-256): an account on the machine that does not have it is refused. Clusters
initialised by older versions trusted every local connection; :meth:`EmbeddedCluster.start`
gives them a password and the same pg_hba.conf, keeping their data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from sqlalchemy.engine import URL

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

#: Instead of the last two, once the cluster has replicas (``locations db up --replica N``):
#: they stream its WAL, which ``minimal`` would not write. Bulk loads then write more WAL.
REPLICATION_SETTINGS = (
    ("wal_level", "replica"),
    ("max_wal_senders", "10"),
    ("max_replication_slots", "10"),
    # A standby's long read tells the primary which rows it still reads, so that a search
    # on a replica is not cancelled by the vacuum of a busy primary.
    ("hot_standby_feedback", "on"),
    # A replica stopped for good must not make the primary keep WAL until its disk is full.
    ("max_slot_wal_keep_size", "4GB"),
)

#: The only role the platform connects as.
SUPERUSER = "postgres"

#: The whole pg_hba.conf: loopback TCP with a password, nothing else. Any role, so one an
#: operator makes (a read-only role for a report) can log in, but only with its own
#: password: a role without one cannot. No ``local`` line (the server has no Unix socket)
#: and no ``replication`` line until the cluster has replicas (``all`` in the database
#: column does not match replication connections).
PG_HBA = """\
# Written by locations (locations/embedded.py), rewritten at every start.
# TYPE  DATABASE  USER  ADDRESS        METHOD
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""
#: Added once the cluster has replicas: they stream from it as the platform's own role,
#: with its password, over loopback; nobody else may replicate.
PG_HBA_REPLICATION = """\
host    replication  postgres  127.0.0.1/32  scram-sha-256
host    replication  postgres  ::1/128       scram-sha-256
"""


@dataclass(frozen=True)
class EmbeddedStatus:
    """What runs where."""

    folder: Path
    initialised: bool
    running: bool
    port: int | None
    # Kept out of repr so a logged or printed status never shows it.
    password: str | None = field(default=None, repr=False)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database``, password included: print it with
        ``make_url(...).render_as_string(hide_password=True)``, never as it is. Without a
        password file (a cluster of an older version not started since), none is put in;
        such a cluster still trusts loopback until its next start."""
        return URL.create(
            "postgresql+psycopg2", username=SUPERUSER, password=self.password,
            host="127.0.0.1", port=self.port, database=database,
        ).render_as_string(hide_password=False)


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

    @property
    def password_file(self) -> Path:
        return self.folder / "password"

    @property
    def hba_file(self) -> Path:
        return self.data_dir / "pg_hba.conf"

    @property
    def replication_marker(self) -> Path:
        """Present once replicas were made: the cluster then writes WAL for them."""
        return self.folder / "replicas"

    @property
    def streams(self) -> bool:
        return self.replication_marker.exists()

    def _hba(self) -> str:
        return PG_HBA + (PG_HBA_REPLICATION if self.streams else "")

    def _server_settings(self) -> tuple[tuple[str, str], ...]:
        if not self.streams:
            return BULK_LOAD_SETTINGS
        return tuple(s for s in BULK_LOAD_SETTINGS
                     if s[0] not in dict(REPLICATION_SETTINGS)) + REPLICATION_SETTINGS

    # -- running commands as the right user -------------------------------------------------

    def _as_server_user(
        self, args: list[str], check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(
            args, check=check, capture_output=True, text=True, cwd="/", input=input
        )

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
        return EmbeddedStatus(self.folder, initialised, running, port, self._read_password())

    def _read_password(self) -> str | None:
        try:
            return self.password_file.read_text().strip() or None
        except FileNotFoundError:
            return None
        except PermissionError:
            raise DatabaseUnavailable(
                f"Cannot read {self.password_file}, the embedded PostgreSQL's password: run "
                "the platform as the user who set the cluster up, or set DATABASE_URL."
            ) from None

    def init(self) -> None:
        """Create the cluster if it does not exist yet (harmless when it does)."""
        self._require_binaries()
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        # A password file left from a cluster whose data dir was deleted is not this one's:
        # kept, it would stop the new superuser from getting a password.
        self.password_file.unlink(missing_ok=True)
        self.port_file.write_text(str(_free_port()))
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(self.port_file, "postgres", "postgres")
            _allow_traversal(self.folder)
        self._as_server_user(
            [
                str(self.pg_bin / "initdb"),
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                # Nothing is let in until the password and pg_hba.conf below are in place.
                "--auth-local=peer", "--auth-host=reject",
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
        self._secure(running=False, port=None)

    def start(self, database: str) -> EmbeddedStatus:
        """Initialise if needed, start if stopped, and make sure ``database`` has PostGIS."""
        self.init()
        current = self.status()
        self._secure(current.running, current.port)
        if not current.running:
            result = self._as_server_user(
                [
                    str(self.pg_bin / "pg_ctl"), "start", "-w", "-t", "60",
                    "-D", str(self.data_dir), "-l", str(self.log_file),
                    "-o", " ".join(f"-c {name}={value}" for name, value in self._server_settings()),
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
        _wait_until_accepting(current.port, current.password)
        _ensure_database(current.port, current.password, database)
        return current

    # -- authentication -------------------------------------------------------------------------

    def _secure(self, running: bool, port: int | None) -> None:
        """Give the superuser a password if it has none on file, and put our pg_hba.conf in.

        The order survives an interruption at any step: the role gets its password before
        the file is written (a missing file means "set one", never "the role has none"), and
        pg_hba.conf stops trusting only once the password is on file.
        """
        if not self.password_file.exists():
            password = secrets.token_urlsafe(32)
            # The role gets a SCRAM verifier, not the password: no statement that could end
            # up in server.log (a failing one is logged) carries the password itself.
            verifier = _scram_verifier(password)
            if running:
                self._set_verifier_online(port, verifier)
            else:
                self._set_verifier_offline(verifier)
            _write_private(self.password_file, password)
        if self.hba_file.read_text() != self._hba():
            # Rewritten in place, so the file keeps its owner (postgres) and mode.
            self.hba_file.write_text(self._hba())
            if running:
                self._as_server_user(
                    [str(self.pg_bin / "pg_ctl"), "reload", "-s", "-D", str(self.data_dir)]
                )

    def _set_verifier_offline(self, verifier: str) -> None:
        # Single-user mode needs no connection and so no authentication: it sets the password
        # of a new cluster, of a stopped old one that trusted loopback, and of one whose
        # password file was lost, without the server ever listening in between.
        result = self._as_server_user(
            [str(self.pg_bin / "postgres"), "--single", "-D", str(self.data_dir), "postgres"],
            check=False,
            input=f"ALTER ROLE {SUPERUSER} PASSWORD '{verifier}';\n",
        )
        errors = [line for line in result.stderr.splitlines()
                  if line.startswith(("ERROR", "FATAL", "PANIC"))]
        if result.returncode != 0 or errors:
            # Only the error lines: a STATEMENT line would echo the verifier.
            raise DatabaseUnavailable(
                f"Could not set the password of the embedded PostgreSQL in {self.folder}: "
                + ("; ".join(errors) or f"postgres --single exited with {result.returncode}")
            )

    def _set_verifier_online(self, port: int | None, verifier: str) -> None:
        # A running cluster without a password file is one an older version made, started
        # before this version: its pg_hba.conf still trusts loopback, which lets us in once.
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=port, user=SUPERUSER,
                                    dbname="postgres", connect_timeout=5)
        except psycopg2.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
            raise DatabaseUnavailable(
                f"The embedded PostgreSQL in {self.folder} runs but its password file "
                f"{self.password_file} is missing ({reason}). Stop it with 'locations db "
                "down', then 'locations db up' sets a new password."
            ) from None
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f"ALTER ROLE {SUPERUSER} PASSWORD %s", (verifier,))
        finally:
            conn.close()

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

    # -- replicas -----------------------------------------------------------------------------

    def replica(self, number: int) -> EmbeddedReplica:
        """Hot standby ``number`` of this cluster (in ``<folder>-replica-<number>``)."""
        return EmbeddedReplica(self.folder.with_name(f"{self.folder.name}-replica-{number}"),
                               self.pg_bin, primary=self, number=number,
                               fast_unsafe=self.fast_unsafe)

    def replicas(self) -> list[EmbeddedReplica]:
        """The replicas made so far, by number."""
        numbers = sorted(int(path.name.rsplit("-", 1)[1]) for path in
                         self.folder.parent.glob(f"{self.folder.name}-replica-*")
                         if path.name.rsplit("-", 1)[1].isdigit())
        return [self.replica(number) for number in numbers]

    def start_with_replicas(self, database: str, count: int = 0) -> list[EmbeddedStatus]:
        """Start the cluster and its replicas, making replicas up to ``count`` first; the
        statuses of the primary, then of each replica. A cluster that made no replicas yet
        is restarted once, to write the WAL they stream."""
        if count > 0 and not self.streams:
            self.init()
            self.replication_marker.write_text("")
            self.stop()  # wal_level changes only at a start
        primary = self.start(database)
        wanted = {r.number: r for r in self.replicas()}
        wanted.update({n: self.replica(n) for n in range(1, count + 1) if n not in wanted})
        return [primary] + [wanted[n].start_standby(primary) for n in sorted(wanted)]

    def stop_all(self) -> list[str]:
        """Stop the replicas, then the cluster; the names of those that were running."""
        stopped = [f"replica {r.number}" for r in self.replicas() if r.stop()]
        return stopped + (["primary"] if self.stop() else [])


class EmbeddedReplica(EmbeddedCluster):
    """A hot standby of an embedded cluster: a base backup that streams its WAL, on its
    own loopback port, read-only. Made with ``pg_basebackup`` and a replication slot, so
    the primary keeps the WAL it has not streamed yet (up to ``max_slot_wal_keep_size``)."""

    def __init__(self, folder: Path, pg_bin: Path, *, primary: EmbeddedCluster, number: int,
                 fast_unsafe: bool = False) -> None:
        super().__init__(folder, pg_bin, fast_unsafe=fast_unsafe)
        self.primary = primary
        self.number = number

    @property
    def slot(self) -> str:
        return f"locations_replica_{self.number}"

    @property
    def passfile(self) -> Path:
        return self.folder / "pgpass"

    def start_standby(self, primary: EmbeddedStatus) -> EmbeddedStatus:
        """Make the standby if it does not exist, and start it if it is stopped."""
        self._require_binaries()
        if not (self.data_dir / "PG_VERSION").exists():
            self._make(primary)
        current = self.status()
        if not current.running:
            result = self._as_server_user(
                [str(self.pg_bin / "pg_ctl"), "start", "-w", "-t", "120",
                 "-D", str(self.data_dir), "-l", str(self.log_file),
                 "-o", " ".join(f"-c {n}={v}" for n, v in REPLICATION_SETTINGS)],
                check=False)
            if result.returncode != 0:
                log_tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
                raise DatabaseUnavailable(
                    f"Replica {self.number} in {self.folder} did not start.\n"
                    f"{result.stderr.strip()}\n{log_tail}")
        current = self.status()
        _wait_until_accepting(current.port, current.password)
        return current

    def _make(self, primary: EmbeddedStatus) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        port = _free_port()
        self.port_file.write_text(str(port))
        # The standby holds the primary's roles: the same password, kept the same way.
        _write_private(self.password_file, primary.password or "")
        # libpq reads the password for streaming from a file of the server user's own, so
        # it is never on a command line; -R points primary_conninfo at it.
        _write_private(self.passfile, f"127.0.0.1:{primary.port}:*:{SUPERUSER}:{primary.password}")
        if os.geteuid() == 0:
            for path in (self.folder, self.port_file, self.passfile):
                shutil.chown(path, "postgres", "postgres")
            _allow_traversal(self.folder)
        self._drop_stale_slot(primary)
        result = self._as_server_user(
            ["env", f"PGPASSFILE={self.passfile}", str(self.pg_bin / "pg_basebackup"),
             "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER,
             "-D", str(self.data_dir), "-R", "-X", "stream", "-C", "-S", self.slot,
             "-c", "fast", "--no-password"],
            check=False)
        if result.returncode != 0:
            raise DatabaseUnavailable(
                f"Could not copy the embedded PostgreSQL for replica {self.number}: "
                f"{result.stderr.strip()[-1000:]}")
        with (self.data_dir / "postgresql.auto.conf").open("a") as handle:
            # The copy listens where the primary does: later lines win.
            handle.write(f"port = {port}\nhot_standby = on\n")

    def _drop_stale_slot(self, primary: EmbeddedStatus) -> None:
        # A slot left by a replica whose folder was deleted would make -C fail (and keep WAL).
        conn = _connect(primary.port, primary.password, "postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                            "WHERE slot_name = %s AND NOT active", (self.slot,))
        finally:
            conn.close()


def _allow_traversal(folder: Path) -> None:
    # The postgres user must be able to walk down to the cluster folder.
    for parent in folder.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
        if parent == Path("/"):
            break


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by this process's user only, all or nothing."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802, RFC 7677).

    PostgreSQL stores a password given in this form as it is. ``password`` must need no
    SASLprep normalisation (token_urlsafe output is plain ASCII).
    """
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect(port: int | None, password: str | None, database: str):
    return psycopg2.connect(host="127.0.0.1", port=port, user=SUPERUSER, password=password,
                            dbname=database)


_REFUSALS = ("password authentication failed", "no password supplied", "no pg_hba.conf entry")


def _wait_until_accepting(port: int | None, password: str | None, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            _connect(port, password, "postgres").close()
            return
        except psycopg2.OperationalError as exc:
            reason = " ".join(str(exc).split())
            # A refused password will not be accepted by waiting; libpq's reason names the
            # refusal and never contains the password.
            refused = any(words in reason for words in _REFUSALS)
            if refused or time.monotonic() > deadline:
                raise DatabaseUnavailable(
                    f"The embedded PostgreSQL on 127.0.0.1:{port} does not accept "
                    f"connections: {reason}"
                ) from None
            time.sleep(0.2)


def _ensure_database(port: int | None, password: str | None, database: str) -> None:
    conn = _connect(port, password, "postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{database}"')
    conn.close()
    conn = _connect(port, password, database)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()
