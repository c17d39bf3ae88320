"""Which webhook URLs a deployment calls. In the cloud: https only, and never an address inside
a private network (the metadata server, the VPC, loopback): a webhook must not become a way to
reach what only the services can. Submit checks the URL as written; each delivery checks where
its host resolves to at that moment, since a name can point anywhere later, and connects to
exactly that address. In the local stack
http is fine for a receiver on this machine."""

from __future__ import annotations

import ipaddress
import socket
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from omtx.errors import InputError
from omtx.settings import Settings, get_settings

Deployment = Literal["local", "cloud"]
# Names that only mean something inside a machine or a private network.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback_name(host: str) -> bool:
    ip = _ip(host)
    return ip.is_loopback if ip is not None else host == "localhost" or host.endswith(".localhost")


def url_problem(url: str, deployment: Deployment) -> str | None:
    """Why `url` cannot be a webhook of this deployment, or None when it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError as exc:
        return f"not a URL: {exc}"
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        return "an absolute http(s) URL with a host is needed"
    if parts.username or parts.password:
        return "credentials in the URL would be stored and logged; authenticate with the signature instead"
    if deployment == "local":
        if parts.scheme == "http" and not _is_loopback_name(host):
            return "http is allowed for localhost only; use https"
        return None
    if parts.scheme != "https":
        return "webhooks are sent over https only"
    ip = _ip(host)
    if ip is not None and not ip.is_global:
        return f"{host} is not a public address"
    if ip is None and (host == "localhost" or "." not in host or host.endswith(_INTERNAL_SUFFIXES)):
        return f"{host} is not a public host name"
    return None


class Address(NamedTuple):
    """Where a delivery connects (`ip`), or why it must not (`problem`)."""

    ip: str | None
    problem: str | None = None


def checked_address(url: str, deployment: Deployment) -> Address:
    """At delivery: the host is resolved once, and the connection goes to the address checked
    here, so a name that re-resolves between the check and the connect (DNS rebinding) cannot
    reach an internal address. In the cloud every address the name has must be public."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        return Address(None, f"{host} does not resolve: {exc}")
    addresses = [str(info[4][0]) for info in infos]
    if deployment == "cloud":
        private = sorted({a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global})
        if private:
            return Address(None, f"{host} resolves to non-public addresses {private}")
    return Address(addresses[0]) if addresses else Address(None, f"{host} has no address")


def check_webhook_url(url: str | None, settings: Settings | None = None) -> None:
    """Submit's check: raises InputError (HTTP 422) naming `webhook_url` when it cannot be used."""
    if url is None:
        return
    settings = settings or get_settings()
    problem = url_problem(url, settings.deployment)
    if problem is None and settings.deployment == "cloud" and settings.webhook_signing_key is None:
        problem = "webhooks are not enabled on this deployment (no signing key is configured)"
    if problem is not None:
        raise InputError("the batch has invalid input", [{"loc": ["webhook_url"], "msg": problem, "input": url}])
