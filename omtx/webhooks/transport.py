"""One webhook POST, sent to the address the delivery checked. requests (and urllib3's pool
manager) would resolve the host again when connecting, so the connection is made to the checked
IP here, with the URL's host kept for the Host header, TLS SNI and certificate verification."""

from __future__ import annotations

from urllib.parse import urlsplit

import certifi
import urllib3
from pydantic import BaseModel


class Answer(BaseModel):
    status: int
    reason: str
    retry_after: str | None = None


def post(url: str, ip: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Answer:
    """Raises urllib3's TimeoutError or HTTPError when no answer comes. Redirects are not
    followed, and the answer's body is never read: a receiver cannot hold the attempt with it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    timeout = urllib3.Timeout(connect=min(5.0, timeout_s), read=timeout_s)
    pool: urllib3.HTTPConnectionPool = (
        urllib3.HTTPSConnectionPool(
            ip,
            port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=host,
            assert_hostname=host,
        )
        if https
        else urllib3.HTTPConnectionPool(ip, port, timeout=timeout, retries=False)
    )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = parts.netloc.rpartition("@")[2]
    with pool:
        answer = pool.urlopen(
            "POST", target, body=body, headers=headers | {"Host": host_header}, redirect=False, preload_content=False
        )
        answer.release_conn()
    return Answer(status=answer.status, reason=answer.reason or "", retry_after=answer.headers.get("Retry-After"))
