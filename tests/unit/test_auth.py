"""The pure parts of auth: keys, their hashing and parsing, rate-limit windows, budgets, and the
refusals the router makes before it needs Firestore."""

import hashlib
import re
from pathlib import Path

import pytest
from functions_framework import create_app
from hypothesis import given
from hypothesis import strategies as st

from omtx.settings import Settings
from omtx.tenancy import keys, limits
from omtx.tenancy.errors import Unauthenticated
from omtx.tenancy.keys import Tier

SOURCE = Path(__file__).resolve().parents[2] / "services" / "submit" / "main.py"


def test_a_new_key_parses_back_to_its_id_and_only_its_hash_matches():
    key_id, key = keys.generate()
    assert re.fullmatch(r"[0-9a-f]{12}", key_id)
    assert keys.key_id_of(key) == key_id
    stored = keys.key_hash(key)
    assert stored == hashlib.sha256(key.encode()).hexdigest() and key not in stored
    assert keys.matches(key, stored)
    assert not keys.matches(key[:-1] + ("A" if key[-1] != "A" else "B"), stored)


def test_keys_are_unique_and_carry_256_random_bits():
    generated = [keys.generate() for _ in range(200)]
    assert len({k for _, k in generated}) == 200 and len({i for i, _ in generated}) == 200
    assert all(len(keys.KEY_PATTERN.match(k).group("secret")) == 43 for _, k in generated)  # 32 bytes, base64url


@pytest.mark.parametrize(
    "bad",
    ["", "omtx_", "omtx_123_abc", "sk_live_abcdef", "omtx_ABCDEF123456_" + "a" * 43, "omtx_abcdef123456_" + "a" * 42],
)
def test_malformed_keys_are_refused_with_the_expected_shape(bad):
    with pytest.raises(Unauthenticated, match="malformed"):
        keys.key_id_of(bad)


@given(st.text(max_size=80))
def test_parsing_never_fails_with_anything_but_unauthenticated(text):
    try:
        keys.key_id_of(text)
    except Unauthenticated:
        pass


def test_the_key_is_read_from_x_api_key_first_then_a_bearer_token_of_ours():
    _, key = keys.generate()
    assert keys.presented_key({"X-API-Key": key}) == key
    assert keys.presented_key({"Authorization": f"Bearer {key}"}) == key
    assert keys.presented_key({"Authorization": f"bearer  {key} "}) == key
    # Behind Cloud Run IAM, Authorization carries Google's identity token: not a key of ours.
    assert keys.presented_key({"Authorization": "Bearer eyJhbGciOi.google.token"}) is None
    assert keys.presented_key({"Authorization": "Bearer eyJ.google", "X-API-Key": key}) == key
    assert keys.presented_key({"Authorization": f"Basic {key}"}) is None
    assert keys.presented_key({}) is None


def test_tenant_names_are_path_and_document_safe():
    assert keys.check_tenant_name("acme-labs") == "acme-labs"
    for bad in ("Acme", "a", "-x", "a/b", "x" * 64, "drops/.."):
        with pytest.raises(ValueError, match="tenant"):
            keys.check_tenant_name(bad)


@pytest.mark.parametrize(
    ("now", "window", "retry_after"),
    [(0.0, 0, 60), (59.2, 0, 1), (59.999, 0, 1), (60.0, 1, 60), (61.2, 1, 59), (1_700_000_030.5, 28_333_333, 10)],
)
def test_windows_and_retry_after(now, window, retry_after):
    assert limits.window(now) == (window, retry_after)


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_retry_after_always_reaches_the_next_window(now):
    index, wait = limits.window(now)
    assert 1 <= wait <= limits.WINDOW_S
    assert limits.window(now + wait)[0] == index + 1


def test_window_counters_expire_after_their_window():
    assert limits.expiry(1).timestamp() == 180  # ends at 120 s, kept one more minute


def test_tier_figures_come_from_the_settings():
    settings = Settings(rate_free_per_min=5, rate_pro_per_min=50, budget_pro_gpu_s=123)
    assert limits.requests_per_window(settings, Tier.FREE) == 5
    assert limits.requests_per_window(settings, Tier.PRO) == 50
    assert limits.default_budget_gpu_s(settings, Tier.PRO) == 123


def test_budget_arithmetic():
    assert not limits.over_budget(100, 60, 40)  # exactly the budget is allowed
    assert limits.over_budget(100, 60, 40.01)
    assert not limits.over_budget(0.3, 0.1 + 0.1, 0.1)  # float sums do not refuse by a hair


def test_push_auth_needs_its_identities():
    with pytest.raises(ValueError, match="OMTX_PUSH_AUDIENCE"):
        Settings(push_auth="oidc", push_service_account="p@x.iam.gserviceaccount.com")


@pytest.fixture
def keyed_client(monkeypatch):
    from omtx.settings import get_settings

    monkeypatch.setenv("OMTX_AUTH", "api_key")
    get_settings.cache_clear()
    return create_app("submit", str(SOURCE), "http").test_client()


def test_without_a_key_every_v1_route_is_401_and_says_how(keyed_client):
    for method, path in [("get", "/v1/batches"), ("post", "/v1/batches"), ("get", "/v1/admin/status")]:
        response = getattr(keyed_client, method)(path)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "X-API-Key" in response.get_json()["message"]
    malformed = keyed_client.get("/v1/batches", headers={"X-API-Key": "omtx_nope"})
    assert malformed.status_code == 401 and "malformed" in malformed.get_json()["message"]


def test_health_and_the_document_need_no_key_and_the_document_requires_one(keyed_client):
    assert keyed_client.get("/healthz").status_code == 200
    document = keyed_client.get("/v1/openapi.json").get_json()
    assert set(document["components"]["securitySchemes"]) == {"bearerKey", "headerKey"}
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert operations and all(op["security"] == [{"bearerKey": []}, {"headerKey": []}] for op in operations)
    assert all({"401", "429"} <= set(op["responses"]) for op in operations)
