"""Platform settings, read once from the environment (prefix ``LOCATIONS_``) and ``.env``."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The project's root folder: where ``data/`` and the embedded cluster live.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: A host name a tile URL may name (a {s} subdomain stands in as a letter).
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")
#: A CSP host source: scheme, host (a leading *. for any subdomain) and an optional port.
_CSP_HOST = re.compile(r"https?://(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?")


class Settings(BaseSettings):
    """Everything configurable about the platform.

    ``DATABASE_URL`` (without prefix) points at an external PostGIS; when it is
    unset the platform runs its own embedded cluster under ``embedded_dir``.
    """

    model_config = SettingsConfigDict(env_prefix="LOCATIONS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LOCATIONS_DATABASE_URL")
    )
    embedded_dir: Path = PROJECT_ROOT / ".data" / "pg"
    embedded_db: str = "locations"
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    data_dir: Path = PROJECT_ROOT / "data"
    host: str = "127.0.0.1"
    port: int = 8000
    # Proxies whose X-Forwarded-For `locations serve` believes, as addresses or CIDRs,
    # comma-separated ("10.0.0.7, 172.16.0.0/12"): the client is then the right-most
    # address the header names that is not one of them. Default none: the connecting
    # address, since anyone can send the header and pose as any address, e.g. to spend
    # another's failed-authentication allowance.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: str | list[str]) -> list[str]:
        items = value.replace(",", " ").split() if isinstance(value, str) else value
        networks = []
        for item in items:
            try:
                # strict=False: "10.0.0.7" is the network 10.0.0.7/32.
                networks.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{item!r} is not a proxy's address or CIDR network, e.g. "
                                 "10.0.0.7 or 10.0.0.0/8 ('*' would believe every client)"
                                 ) from None
        return networks

    # Hot standbys (PostgreSQL streaming replicas) of DATABASE_URL that serve reads,
    # comma-separated SQLAlchemy/libpq URLs. Unset with the embedded cluster: its replicas
    # (`locations db up --replica N`) that run. Writes always go to the primary.
    read_replica_urls: Annotated[list[str], NoDecode] = []
    # A replica further behind the primary than this is skipped until it catches up.
    replica_max_lag_s: float = Field(default=5.0, gt=0, le=3600)

    @field_validator("read_replica_urls", mode="before")
    @classmethod
    def _replica_urls(cls, value: str | list[str]) -> list[str]:
        return [u.strip() for u in value.split(",") if u.strip()] if isinstance(value, str) else value

    # Requests one server process works on at once (its thread pool): the rest wait their
    # turn in order. More threads than the database and the process can run at once only
    # lengthen every answer (see README, "Under load").
    threads: int = Field(default=40, ge=1, le=1000)
    # Reads at work at once in one server process (whole requests, with their every step
    # in the thread pool); the others wait first come, first served. 0: no limit. Without a
    # limit, 32 clients' requests ran in 32 threads that took the GIL from each other and
    # from the event loop that reads requests and sends answers (README, "Under load").
    max_active_requests: int = Field(default=8, ge=0, le=1000)

    # Bearer token that lets a Prometheus server elsewhere read /metrics; unset: loopback only.
    metrics_token: str | None = None

    max_body_bytes: int = 20 * 1024 * 1024
    # GIS files uploaded to POST /imports: a region's cadastral file runs to hundreds of MB.
    max_upload_bytes: int = 1024 * 1024 * 1024
    # Plots in one download (GET /exports/plots): a whole search is built in memory, so an
    # unbounded one from anybody is a way to tie up the server. The CLI has no limit.
    max_export_rows: int = 250_000
    # Content-Security-Policy on every page; off only to test what escaping alone achieves.
    csp: bool = True
    # Who may show the pages in a frame (CSP frame-ancestors): municipalities embed the map
    # in their own sites, e.g. "'self' https://www.kranj.si". Default: this site only.
    frame_ancestors: str = "'self'"
    # An online base map under the data: "none" (the default: pages then ask no other host
    # for anything, work offline and tell no third party who is looking), or a tile URL
    # template such as https://tiles.example.org/{z}/{x}/{y}.png ({s}, {r} allowed), with
    # the attribution its terms require (text; links as <a href="https://...">text</a>).
    # The CSP admits the template's host for images only when a base map is set.
    basemap: str = "none"
    basemap_attribution: str = ""
    # More hosts the base map's tiles may come from (redirects, a CDN), space-separated;
    # ignored without a base map. It used to name the hosts for ?basemap=osm, which the
    # setting above replaces.
    basemap_hosts: str = ""

    @field_validator("basemap", mode="before")
    @classmethod
    def _tile_template(cls, value: str | None) -> str:
        template = (value or "").strip()
        if template.lower() in ("", "none"):
            return "none"
        parts = urlsplit(template)
        host = (parts.hostname or "").replace("{s}", "a")
        if (parts.scheme not in ("https", "http") or not _HOST.fullmatch(host) or "@" in parts.netloc
                or any(c in template for c in " \t\n;,'\"<>")
                or not all(p in template for p in ("{z}", "{x}", "{y}"))):
            raise ValueError(
                f"LOCATIONS_BASEMAP={template!r} is not a tile URL template: give 'none' or an http(s) URL with "
                "{z}, {x} and {y}, e.g. "
                "https://mapsneu.wien.gv.at/basemap/geolandbasemap/normal/google3857/{z}/{y}/{x}.png")
        return template

    @field_validator("basemap_hosts", mode="before")
    @classmethod
    def _csp_hosts(cls, value: str | None) -> str:
        hosts = (value or "").replace(",", " ").split()
        for host in hosts:
            if not _CSP_HOST.fullmatch(host):
                raise ValueError(f"LOCATIONS_BASEMAP_HOSTS: {host!r} is not a host for the base map's tiles, "
                                 "e.g. https://tiles.example.org or https://*.example.org")
        return " ".join(hosts)

    @model_validator(mode="after")
    def _attributed(self) -> Settings:
        if self.basemap != "none" and not self.basemap_attribution.strip():
            raise ValueError("LOCATIONS_BASEMAP_ATTRIBUTION is required with LOCATIONS_BASEMAP: "
                             "tile providers' terms ask for it, e.g. 'Grundkarte: basemap.at'")
        return self

    @property
    def basemap_sources(self) -> list[str]:
        """CSP sources of the base map's tiles: none without a base map."""
        if self.basemap == "none":
            return []
        parts = urlsplit(self.basemap)
        # {s} picks one of a few subdomains: a wildcard admits all of them.
        own = f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}"
        return list(dict.fromkeys([own, *self.basemap_hosts.split()]))

    # Outgoing mail: an investor's inquiry is e-mailed to the zone manager through this
    # server, smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://.
    # Unset: no mail; inquiries are stored and in the API (GET /inquiries) all the same.
    smtp_url: str | None = None
    # The sender of that mail: an address of the platform's own domain, which the server
    # accepts and receivers do not take for spoofing.
    smtp_from: str = "noreply@localhost"
    # Days an inquiry's personal data (name, e-mail, message ...) is kept; `locations
    # inquiries purge` (run it daily) deletes older inquiries.
    inquiry_retention_days: int = Field(default=365, ge=1)
    # A plot nobody verified for this many months is stale: the municipality's list of its
    # plots shows it first, and `locations plots stale` lists it by default.
    stale_months: int = Field(default=12, ge=1, le=240)
    # Browser sessions of people signed in: ended after this many minutes without a
    # request, and this many hours after signing in whatever happens.
    session_idle_minutes: int = Field(default=60, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    # Hours an invitation link (`locations accounts create` / `reset`) stays valid.
    invitation_hours: int = Field(default=72, ge=1)
    # The platform's address as people reach it, for the invitation links the command
    # line prints, e.g. "https://lokacije.example.si". Default: http://host:port.
    public_url: str | None = None

    @property
    def site_url(self) -> str:
        """Where people reach the platform, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
