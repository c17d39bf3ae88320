"""The chaos proxy on loopback, in front of a small recording HTTP server: it forwards, answers with
the service's status, duplicates and delays as configured, and says 503 when the service is down."""

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from omtx.devstack.chaos import ChaosConfig, Proxy, Route, fetch_stats


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, bytes, str | None]] = []
    status = 204

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen.append((self.path, body, self.headers.get("ce-type")))
        self.send_response(Recorder.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def service() -> Iterator[int]:
    Recorder.seen, Recorder.status = [], 204
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def proxy(target_port: int, config: ChaosConfig, asynchronous: bool = False) -> int:
    port = free_port()
    route = Route("svc", port, f"http://127.0.0.1:{target_port}", asynchronous)
    threading.Thread(target=Proxy("127.0.0.1", [route], config, 5.0).serve, daemon=True).start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            fetch_stats("127.0.0.1", port)
            return port
        except requests.RequestException:
            time.sleep(0.02)
    raise AssertionError("proxy did not start")


def wait_seen(n: int) -> None:
    deadline = time.monotonic() + 5
    while len(Recorder.seen) < n and time.monotonic() < deadline:
        time.sleep(0.02)


def test_every_delivery_is_forwarded_and_duplicated_when_told(service):
    port = proxy(service, ChaosConfig(duplicate=1.0, delay=0.0, max_delay_s=0.1))
    response = requests.post(f"http://127.0.0.1:{port}/projects/p/topics/t", data=b"m1", headers={"ce-type": "x"})
    assert response.status_code == 204
    wait_seen(2)
    assert Recorder.seen == [("/projects/p/topics/t", b"m1", "x")] * 2
    stats = fetch_stats("127.0.0.1", port)["routes"]["svc"]
    assert stats["received"] == 1 and stats["duplicated"] == 1
    assert stats["status_2xx"] == 1 and stats["duplicate_status_2xx"] == 1


def test_the_service_answer_is_passed_back_and_a_dead_service_is_a_503(service):
    port = proxy(service, ChaosConfig(duplicate=0.0, delay=0.0))
    Recorder.status = 500
    assert requests.post(f"http://127.0.0.1:{port}/x", data=b"m").status_code == 500
    dead = proxy(free_port(), ChaosConfig(duplicate=0.0, delay=0.0))
    assert requests.post(f"http://127.0.0.1:{dead}/x", data=b"m").status_code == 503
    assert fetch_stats("127.0.0.1", dead)["routes"]["svc"]["unreachable"] == 1


def test_held_back_deliveries_are_overtaken(service):
    port = proxy(service, ChaosConfig(duplicate=0.0, delay=0.5, max_delay_s=0.4, seed=1), asynchronous=True)
    for i in range(20):
        assert requests.post(f"http://127.0.0.1:{port}/x", data=str(i).encode()).status_code == 204
    wait_seen(20)
    order = [int(body) for _, body, _ in Recorder.seen]
    assert sorted(order) == list(range(20)) and order != sorted(order)
    stats = fetch_stats("127.0.0.1", port)["routes"]["svc"]
    assert stats["delayed"] > 0 and stats["reordered"] > 0
