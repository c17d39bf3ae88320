"""Keyless Modal → GCP: only our workspace, environment and app may become the worker account."""

import json

from omtx_infra.federation import TOKEN_FILE
from tests.infra.program import PROJECT, PROJECT_NUMBER, Deployed

PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"


def test_provider_trusts_modal_for_one_workspace_environment_and_app(deployed: Deployed) -> None:
    (provider,) = deployed.of(PROVIDER)
    assert provider.inputs["oidc"] == {"issuerUri": "https://oidc.modal.com", "allowedAudiences": ["oidc.modal.com"]}
    condition = provider.inputs["attributeCondition"]
    for clause in (
        'assertion.workspace_id == "ac-test123"',
        'assertion.environment_name == "main"',
        'assertion.app_name == "omtx-hub"',
    ):
        assert clause in condition
    assert condition.count("&&") == 2  # all of them, not any
    assert provider.inputs["attributeMapping"]["attribute.app_name"] == "assertion.app_name"


def test_no_service_account_key_exists(deployed: Deployed) -> None:
    assert not [r for r in deployed.resources if r.type.endswith("key:Key") or "HmacKey" in r.type]


def test_modal_secret_carries_a_keyless_credential_config(deployed: Deployed) -> None:
    secret = deployed.exports["modalWorkerSecret"]
    config = json.loads(secret["OMTX_GCP_CREDENTIAL_CONFIG"])
    provider = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/omtx-modal/providers/modal"
    assert config["type"] == "external_account"
    assert (
        config["audience"]
        == f"//iam.googleapis.com/{provider}"
        == "//iam.googleapis.com/" + (deployed.exports["workloadIdentityProvider"])
    )
    assert config["credential_source"] == {"file": TOKEN_FILE, "format": {"type": "text"}}
    worker = f"omtx-worker@{PROJECT}.iam.gserviceaccount.com"
    assert config["service_account_impersonation_url"].endswith(f"/serviceAccounts/{worker}:generateAccessToken")
    assert not {"private_key", "client_secret"} & set(config)
    assert secret["OMTX_PROJECT"] == PROJECT and secret["OMTX_EXECUTOR"] == "modal"
