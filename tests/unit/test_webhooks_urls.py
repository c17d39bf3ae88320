import pytest

from omtx.errors import InputError
from omtx.settings import Settings
from omtx.webhooks.urls import check_webhook_url, checked_address, url_problem


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/omtx",
        "https://hooks.example.com:8443/omtx?tenant=a",
        "https://93.184.216.34/hook",
    ],
)
def test_public_https_urls_are_fine_in_the_cloud(url):
    assert url_problem(url, "cloud") is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/omtx", "https only"),
        ("https://10.1.2.3/hook", "not a public address"),
        ("https://192.168.0.10/hook", "not a public address"),
        ("https://172.16.5.4/hook", "not a public address"),
        ("https://127.0.0.1:8080/hook", "not a public address"),
        ("https://169.254.169.254/computeMetadata/v1/", "not a public address"),  # metadata server
        ("https://[::1]/hook", "not a public address"),
        ("https://[fd00::1]/hook", "not a public address"),
        ("https://[::ffff:10.0.0.1]/hook", "not a public address"),
        ("https://100.64.0.1/hook", "not a public address"),  # carrier-grade NAT
        ("https://localhost/hook", "not a public host name"),
        ("https://metadata.google.internal/hook", "not a public host name"),
        ("https://printer.local/hook", "not a public host name"),
        ("https://intranet/hook", "not a public host name"),
        ("https://user:pw@hooks.example.com/hook", "credentials"),
        ("ftp://hooks.example.com/hook", "absolute http(s) URL"),
        ("hooks.example.com/hook", "absolute http(s) URL"),
        ("https://hooks.example.com:99999/hook", "not a URL"),
    ],
)
def test_what_the_cloud_refuses(url, why):
    problem = url_problem(url, "cloud")
    assert problem is not None and why in problem


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9000/hook", "http://localhost:9000/hook", "http://[::1]:9000/", "https://example.com/h"]
)
def test_the_local_stack_allows_http_to_this_machine(url):
    assert url_problem(url, "local") is None


def test_the_local_stack_refuses_http_elsewhere():
    assert "localhost only" in (url_problem("http://hooks.example.com/h", "local") or "")


def test_submit_check_is_a_field_error_on_webhook_url():
    with pytest.raises(InputError) as raised:
        check_webhook_url("http://hooks.example.com/h", Settings(deployment="cloud", webhook_signing_key="k"))
    assert raised.value.details == [
        {"loc": ["webhook_url"], "msg": "webhooks are sent over https only", "input": "http://hooks.example.com/h"}
    ]


def test_a_cloud_deployment_without_a_signing_key_refuses_webhooks():
    with pytest.raises(InputError, match="invalid input") as raised:
        check_webhook_url("https://hooks.example.com/h", Settings(deployment="cloud"))
    assert "not enabled" in raised.value.details[0]["msg"]


def test_no_url_and_good_urls_pass():
    check_webhook_url(None, Settings(deployment="cloud"))
    check_webhook_url("https://hooks.example.com/h", Settings(deployment="cloud", webhook_signing_key="k"))
    check_webhook_url("http://127.0.0.1:9/h", Settings())


def test_delivery_refuses_a_name_that_resolves_inside():
    assert "non-public" in (checked_address("https://localhost/hook", "cloud").problem or "")
    assert "does not resolve" in (checked_address("https://no-such-host.invalid/hook", "cloud").problem or "")


def test_delivery_connects_to_the_address_it_checked(monkeypatch):
    """DNS rebinding: the name resolves to a public address when checked and to an internal one
    afterwards; only one resolution happens, and the address checked is the one returned."""
    answers = iter([[(2, 1, 6, "", ("93.184.216.34", 0))], [(2, 1, 6, "", ("10.0.0.7", 0))]])
    calls = []

    def fake_getaddrinfo(host, *args, **kwargs):
        calls.append(host)
        return next(answers)

    monkeypatch.setattr("socket.getaddrinfo", fake_getaddrinfo)
    address = checked_address("https://hooks.example.com/h", "cloud")
    assert address.ip == "93.184.216.34" and address.problem is None
    assert calls == ["hooks.example.com"]


def test_a_name_with_any_internal_address_is_refused(monkeypatch):
    infos = [(2, 1, 6, "", ("93.184.216.34", 0)), (2, 1, 6, "", ("169.254.169.254", 0))]
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: infos)
    address = checked_address("https://hooks.example.com/h", "cloud")
    assert address.ip is None and "169.254.169.254" in (address.problem or "")
