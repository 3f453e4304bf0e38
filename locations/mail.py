"""Outgoing mail through the SMTP server of ``LOCATIONS_SMTP_URL``.

``smtp://[user:password@]host[:port]`` speaks STARTTLS when the server offers it;
``smtps://`` speaks TLS from the start (port 465 by default). Credentials never cross
the network in clear: on ``smtp://`` without STARTTLS they are sent only to a server
on this machine (a local relay), else the send fails saying why.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

#: Seconds to wait for the SMTP server at each step: a hung server must not hold the
#: worker that sends for longer than this.
SMTP_TIMEOUT_SECONDS = 10


class MailNotSent(Exception):
    """The message was not handed over; the text says why (never the password)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    user: str | None = None
    password: str | None = None

    @property
    def local(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpServer:
    """The server ``url`` names.

    Raises:
        ValueError: not an smtp:// or smtps:// URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("LOCATIONS_SMTP_URL must look like smtp://host:port or "
                         "smtps://user:password@host:port")
    implicit_tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname, port=parts.port or (465 if implicit_tls else 25),
        implicit_tls=implicit_tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send(url: str, message: EmailMessage) -> None:
    """Hand ``message`` to the server of ``url`` for delivery.

    Raises:
        MailNotSent: the server could not be reached or refused the message.
    """
    server = parse_smtp_url(url)
    context = ssl.create_default_context()
    try:
        if server.implicit_tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port,
                                                  timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT_SECONDS)
        with smtp:
            smtp.ehlo()
            secure = server.implicit_tls
            if not secure and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
                secure = True
            if server.user:
                if not (secure or server.local):
                    raise MailNotSent(f"{server.host}:{server.port} offers no STARTTLS: the "
                                      "password is not sent in clear (use smtps://)")
                smtp.login(server.user, server.password or "")
            refused = smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        # OSError: refused, unreachable, timed out, TLS failures; the rest: the server said no.
        raise MailNotSent(f"{server.host}:{server.port}: {type(exc).__name__}: {exc}") from exc
    if refused:
        raise MailNotSent(f"{server.host}:{server.port} refused {', '.join(refused)}")
