"""Push routes in cloud mode: Google-signed OIDC tokens, verified for real against keys this test
signs with and publishes at a local certificate URL (what Google does at its own)."""

import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from functions_framework import create_app
from google.auth import crypt, jwt

from omtx.api.access import check_push_claims
from omtx.errors import TransientError
from omtx.gcp import oidc
from omtx.tenancy.errors import Forbidden, Unauthenticated

SOURCE = Path(__file__).resolve().parents[2] / "services" / "submit" / "main.py"
AUDIENCE = "https://omtx-submit-abc-uc.a.run.app"
PUSH_SA = "omtx-pubsub-push@proj.iam.gserviceaccount.com"
SCHEDULER_SA = "omtx-scheduler@proj.iam.gserviceaccount.com"


def _keypair(kid: str) -> tuple[crypt.RSASigner, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-google")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(private, hashes.SHA256())
    )
    encoding, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    pem = private.private_bytes(encoding, pkcs8, serialization.NoEncryption())
    return crypt.RSASigner.from_string(pem, key_id=kid), cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def google():
    """A stand-in for accounts.google.com's signing keys: one key published, one not."""
    signer, cert = _keypair("k1")
    rogue, _ = _keypair("k1")  # same key id, a key Google never published
    state = {"up": True}

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"k1": cert}).encode()
            self.send_response(200 if state["up"] else 503)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"signer": signer, "rogue": rogue, "url": f"http://127.0.0.1:{server.server_port}/certs", "state": state}
    server.shutdown()


@pytest.fixture(autouse=True)
def _certs_at(google, monkeypatch):
    monkeypatch.setattr(oidc, "GOOGLE_CERTS_URL", google["url"])
    google["state"]["up"] = True


def token(signer, **claims):
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "sub": "1234",
        "email": PUSH_SA,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
    } | claims
    return jwt.encode(signer, payload).decode()


def test_a_valid_token_gives_its_claims(google):
    claims = oidc.verify(token(google["signer"]), AUDIENCE)
    assert claims["email"] == PUSH_SA
    check_push_claims(claims, PUSH_SA)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"aud": "https://elsewhere.example"}, "audience"),
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 3720}, "expired"),
    ],
)
def test_wrong_audience_and_expired_tokens_are_refused(google, change, why):
    with pytest.raises(Unauthenticated, match="not valid"):
        oidc.verify(token(google["signer"], **change), AUDIENCE)


def test_a_token_signed_with_another_key_or_altered_is_refused(google):
    with pytest.raises(Unauthenticated):
        oidc.verify(token(google["rogue"]), AUDIENCE)
    header, payload, signature = token(google["signer"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged = base64.urlsafe_b64encode(json.dumps(claims | {"email": SCHEDULER_SA}).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        oidc.verify(f"{header}.{forged}.{signature}", AUDIENCE)
    with pytest.raises(Unauthenticated):
        oidc.verify("not-a-jwt", AUDIENCE)


def test_unreachable_keys_are_transient_so_pubsub_redelivers(google):
    google["state"]["up"] = False
    with pytest.raises(TransientError):
        oidc.verify(token(google["signer"]), AUDIENCE)


def test_only_the_expected_identity_passes_the_claim_checks():
    good = {"iss": "accounts.google.com", "email": PUSH_SA, "email_verified": True}
    check_push_claims(good, PUSH_SA)
    with pytest.raises(Forbidden):
        check_push_claims(good, SCHEDULER_SA)
    with pytest.raises(Forbidden):
        check_push_claims(good | {"email_verified": False}, PUSH_SA)
    with pytest.raises(Unauthenticated, match="not issued by Google"):
        check_push_claims(good | {"iss": "https://evil.example"}, PUSH_SA)


@pytest.fixture
def cloud_client(monkeypatch):
    from omtx.settings import get_settings

    for name, value in {
        "OMTX_PUSH_AUTH": "oidc",
        "OMTX_PUSH_AUDIENCE": AUDIENCE,
        "OMTX_PUSH_SERVICE_ACCOUNT": PUSH_SA,
        "OMTX_SCHEDULER_SERVICE_ACCOUNT": SCHEDULER_SA,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return create_app("submit", str(SOURCE), "http").test_client()


def test_push_routes_check_the_token_and_who_it_names(cloud_client, google):
    # A malformed push body is acknowledged (204) once the caller is known: nothing else is called.
    envelope = {"message": {"data": ""}, "subscription": "projects/p/subscriptions/submit-bucket-events"}
    route = "/pubsub/bucket-events"
    assert cloud_client.post(route, json=envelope).status_code == 401
    pushed = {"Authorization": f"Bearer {token(google['signer'])}"}
    assert cloud_client.post(route, json=envelope, headers=pushed).status_code == 204
    scheduler = {"Authorization": f"Bearer {token(google['signer'], email=SCHEDULER_SA)}"}
    assert cloud_client.post(route, json=envelope, headers=scheduler).status_code == 403
    assert cloud_client.post("/internal/reconcile", headers=pushed).status_code == 403
    rogue = {"Authorization": f"Bearer {token(google['rogue'])}"}
    assert cloud_client.post(route, json=envelope, headers=rogue).status_code == 401
