"""Keyless GCP access on Modal: the worker turns its OIDC identity token into Google credentials."""

import json

from modal_gpu import common


def test_the_identity_token_and_credential_config_are_written_for_google_auth(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "TOKEN_FILE", tmp_path / "token")
    monkeypatch.setattr(common, "CREDENTIAL_CONFIG_FILE", tmp_path / "creds.json")
    config = {"type": "external_account", "credential_source": {"file": str(tmp_path / "token")}}
    monkeypatch.setenv("MODAL_IDENTITY_TOKEN", "eyJ.token")
    monkeypatch.setenv("OMTX_GCP_CREDENTIAL_CONFIG", json.dumps(config))
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    common.use_gcp_identity()
    assert (tmp_path / "token").read_text() == "eyJ.token"
    assert json.loads((tmp_path / "creds.json").read_text()) == config
    assert common.os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == str(tmp_path / "creds.json")


def test_without_an_identity_token_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "TOKEN_FILE", tmp_path / "token")
    monkeypatch.delenv("MODAL_IDENTITY_TOKEN", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/keys/sa.json")
    common.use_gcp_identity()
    assert not (tmp_path / "token").exists()
    assert common.os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == "/keys/sa.json"
