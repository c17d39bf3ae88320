"""The fault suite's chaos proxy: it sits between the emulators and each service and makes
delivery as bad as production may make it. The Pub/Sub emulator pushes each message once (unless
it fails) and the Firestore emulator delivers each document event once and in order; Pub/Sub and
Eventarc promise only at-least-once delivery in any order. So every push subscription and the
Firestore trigger point at this proxy, which forwards every request to the real service and

- with probability `duplicate`, delivers it a second time later (a redelivery after a lost ack),
- with probability `delay`, holds it back first (later messages overtake it),

and counts what it did (GET /_chaos/stats on any of its ports). A Pub/Sub push is forwarded while
the emulator waits, so the emulator sees the service's real answer (a crash still means
redelivery, a dead service a 503). The Firestore emulator never retries, so its events are answered
at once and delivered in the background: they may then also arrive out of order.

    python -m omtx.devstack.chaos --route dispatch=8721=8711 --route aggregate=8723=8713:async
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

STATS_PATH = "/_chaos/stats"
# Headers that describe one hop, not the message; requests sets its own.
_HOP_HEADERS = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "accept-encoding"}


@dataclass(frozen=True)
class ChaosConfig:
    """How bad delivery gets. The defaults are the fault suite's: 10 % of deliveries twice."""

    duplicate: float = 0.1
    delay: float = 0.2
    max_delay_s: float = 1.5
    seed: int = 0


@dataclass(frozen=True)
class Route:
    name: str  # the service behind it
    listen_port: int
    target: str  # base URL of the service
    asynchronous: bool  # answer at once and deliver in the background (the sender never retries)


class Proxy:
    def __init__(self, host: str, routes: list[Route], config: ChaosConfig, forward_timeout_s: float) -> None:
        self.host = host
        self.routes = routes
        self.config = config
        self.forward_timeout_s = forward_timeout_s
        self._random = random.Random(config.seed)
        self._lock = threading.Lock()
        self._stats: dict[str, Counter[str]] = {r.name: Counter() for r in routes}
        self._arrivals: dict[str, int] = Counter()  # per route: arrival sequence numbers handed out
        self._latest_forwarded: dict[str, int] = Counter()  # per route: the latest arrival forwarded
        self._local = threading.local()

    # --- decisions and figures ------------------------------------------------------------------

    def _draw(self) -> tuple[float, float | None]:
        """(delay before forwarding, delay of the duplicate or None)."""
        with self._lock:
            c, r = self.config, self._random
            delay = r.uniform(0.05, c.max_delay_s) if r.random() < c.delay else 0.0
            again = r.uniform(0.05, c.max_delay_s) if r.random() < c.duplicate else None
        return delay, again

    def count(self, route: str, key: str, n: int = 1) -> None:
        with self._lock:
            self._stats[route][key] += n

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_route = {name: dict(counter) for name, counter in self._stats.items()}
        total: Counter[str] = Counter()
        for counter in by_route.values():
            total.update(counter)
        return {"total": dict(total), "routes": by_route}

    # --- delivery -------------------------------------------------------------------------------

    def handle(self, route: Route, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self._lock:
            self._arrivals[route.name] += 1
            arrival = self._arrivals[route.name]
        self.count(route.name, "received")
        delay, again = self._draw()
        if again is not None:
            self.count(route.name, "duplicated")
            threading.Thread(target=self._deliver, args=(route, path, headers, body, again, arrival, True)).start()
        if delay:
            self.count(route.name, "delayed")
        if route.asynchronous:
            threading.Thread(target=self._deliver, args=(route, path, headers, body, delay, arrival, False)).start()
            return 204, b""
        return self._deliver(route, path, headers, body, delay, arrival, False)

    def _deliver(
        self, route: Route, path: str, headers: dict[str, str], body: bytes, delay: float, arrival: int, dup: bool
    ) -> tuple[int, bytes]:
        if delay:
            time.sleep(delay)
        with self._lock:
            # A delivery that leaves after a later arrival has left was overtaken: reordered.
            overtaken = arrival < self._latest_forwarded[route.name]
            self._latest_forwarded[route.name] = max(arrival, self._latest_forwarded[route.name])
        if overtaken:
            self.count(route.name, "reordered")
        try:
            response = self._session().post(
                route.target + path, data=body, headers=headers, timeout=self.forward_timeout_s
            )
        except requests.RequestException:
            # The service is down (killed, restarting): the sender must redeliver.
            self.count(route.name, "duplicate_unreachable" if dup else "unreachable")
            return 503, b"chaos proxy: service unreachable"
        self.count(route.name, f"{'duplicate_' if dup else ''}status_{response.status_code // 100}xx")
        return response.status_code, response.content

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    # --- serving --------------------------------------------------------------------------------

    def serve(self) -> None:
        servers = [ThreadingHTTPServer((self.host, r.listen_port), _handler(self, r)) for r in self.routes]
        for server in servers[1:]:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[0].serve_forever()


def _handler(proxy: Proxy, route: Route) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == STATS_PATH:
                self._answer(200, json.dumps(proxy.stats()).encode(), "application/json")
            else:
                self._answer(404, b"", "text/plain")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
            status, content = proxy.handle(route, self.path, headers, body)
            self._answer(status, content, "text/plain")

        def _answer(self, status: int, content: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per delivery would drown the log; the figures are in the stats

    return Handler


def fetch_stats(host: str, port: int) -> dict[str, Any]:
    """The running proxy's figures (any of its ports answers)."""
    response = requests.get(f"http://{host}:{port}{STATS_PATH}", timeout=5)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--route",
        action="append",
        required=True,
        help="NAME=LISTEN_PORT=TARGET_PORT[:async]: listen on LISTEN_PORT, forward to TARGET_PORT",
    )
    parser.add_argument("--duplicate", type=float, default=ChaosConfig.duplicate)
    parser.add_argument("--delay", type=float, default=ChaosConfig.delay)
    parser.add_argument("--max-delay", type=float, default=ChaosConfig.max_delay_s)
    parser.add_argument("--seed", type=int, default=ChaosConfig.seed)
    parser.add_argument("--forward-timeout", type=float, default=60.0, help="the push ack deadline")
    args = parser.parse_args()
    routes = []
    for spec in args.route:
        name, listen, target = spec.split("=")
        port, _, mode = target.partition(":")
        routes.append(Route(name, int(listen), f"http://{args.host}:{port}", mode == "async"))
    config = ChaosConfig(args.duplicate, args.delay, args.max_delay, args.seed)
    Proxy(args.host, routes, config, args.forward_timeout).serve()


if __name__ == "__main__":
    main()
