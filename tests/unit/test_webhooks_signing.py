import hashlib
import hmac

import pytest

from omtx.webhooks.signing import SignatureError, batch_secret, sign, verify_signature

SECRET = "whsec_test"
BODY = b'{"id":"b1/batch-done","type":"batch.done"}'
T = 1_767_225_600


def test_a_signed_body_verifies_and_returns_its_timestamp():
    assert verify_signature(SECRET, sign(SECRET, BODY, T), BODY, now=T + 10, tolerance_s=300) == T


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, T) == f"t={T},v1={expected}"


@pytest.mark.parametrize(
    ("body", "secret"),
    [
        (BODY.replace(b"batch.done", b"batch.d0ne"), SECRET),  # tampered body
        (BODY + b" ", SECRET),  # re-serialised: one byte more
        (BODY, "whsec_other"),  # another batch's secret
    ],
)
def test_tampering_or_the_wrong_secret_fails(body, secret):
    with pytest.raises(SignatureError, match="mismatch"):
        verify_signature(secret, sign(SECRET, BODY, T), body, now=T, tolerance_s=300)


def test_a_tampered_timestamp_fails_even_inside_the_window():
    header = sign(SECRET, BODY, T).replace(f"t={T}", f"t={T + 1}")
    with pytest.raises(SignatureError, match="mismatch"):
        verify_signature(SECRET, header, BODY, now=T, tolerance_s=300)


@pytest.mark.parametrize("now", [T + 301, T - 301])
def test_a_replay_outside_the_window_fails_though_the_signature_is_genuine(now):
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(SECRET, sign(SECRET, BODY, T), BODY, now=now, tolerance_s=300)


def test_the_window_edge_is_inclusive():
    assert verify_signature(SECRET, sign(SECRET, BODY, T), BODY, now=T + 300, tolerance_s=300) == T


@pytest.mark.parametrize("header", [None, "", "t=abc,v1=00", f"t={T}", "v1=00", f"t={T},v0=00"])
def test_malformed_headers_fail(header):
    with pytest.raises(SignatureError):
        verify_signature(SECRET, header, BODY, now=T, tolerance_s=300)


def test_any_v1_may_match_so_keys_can_rotate():
    genuine = sign(SECRET, BODY, T).split(",")[1]
    header = f"t={T},v1={'0' * 64},{genuine}"
    assert verify_signature(SECRET, header, BODY, now=T, tolerance_s=300) == T


def test_batch_secrets_differ_per_batch_and_key_and_are_stable():
    key = b"k1"
    assert batch_secret(key, "b1") == batch_secret(key, "b1")
    assert batch_secret(key, "b1") != batch_secret(key, "b2")
    assert batch_secret(key, "b1") != batch_secret(b"k2", "b1")
    assert batch_secret(key, "b1").startswith("whsec_")
