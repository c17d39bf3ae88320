"""Keyless access from Modal workers to GCP: workload identity federation.

Modal injects an OIDC token into every container (`MODAL_IDENTITY_TOKEN`; issuer
https://oidc.modal.com, audience `oidc.modal.com`, claims workspace_id, environment_name,
app_name, function_name…; modal.com/docs/guide/oidc-integration). A pool provider trusts that
issuer for one Modal workspace, environment and app, and those tokens may impersonate the worker
service account, which holds only what workers need (identity.py). No key exists anywhere.

The worker turns the token into Google credentials with a standard external-account credential
configuration (no secret in it), exported as part of the Modal secret (`modalWorkerSecret`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
from pulumi_gcp import iam, serviceaccount

from omtx_infra.config import InfraConfig

MODAL_ISSUER = "https://oidc.modal.com"
MODAL_AUDIENCE = "oidc.modal.com"
# Where a worker writes its MODAL_IDENTITY_TOKEN for google-auth to read (credential_source.file).
TOKEN_FILE = "/tmp/omtx/modal-identity-token"
CREDENTIAL_CONFIG_ENV = "OMTX_GCP_CREDENTIAL_CONFIG"


@dataclass(frozen=True)
class Federation:
    pool: iam.WorkloadIdentityPool
    provider: iam.WorkloadIdentityPoolProvider
    credential_config: pulumi.Output[str]  # JSON for GOOGLE_APPLICATION_CREDENTIALS


def create_federation(cfg: InfraConfig, worker: serviceaccount.Account) -> Federation:
    app = cfg.settings.modal_app
    pool = iam.WorkloadIdentityPool(
        "modal-pool",
        workload_identity_pool_id="omtx-modal",
        project=cfg.project,
        display_name="Modal workers",
        description=f"Modal workspace {cfg.modal_workspace_id}, environment {cfg.modal_environment}",
    )
    provider = iam.WorkloadIdentityPoolProvider(
        "modal-provider",
        workload_identity_pool_id=pool.workload_identity_pool_id,
        workload_identity_pool_provider_id="modal",
        project=cfg.project,
        display_name="Modal OIDC",
        # Modal's `sub` can pass the 127-byte limit of google.subject; the ids identify the caller.
        attribute_mapping={
            "google.subject": 'assertion.workspace_id + "/" + assertion.app_id + "/" + assertion.function_id',
            "attribute.workspace_id": "assertion.workspace_id",
            "attribute.environment_name": "assertion.environment_name",
            "attribute.app_name": "assertion.app_name",
        },
        # Every Modal workspace gets tokens from the same issuer: only ours, and only this app, get in.
        attribute_condition=(
            f'assertion.workspace_id == "{cfg.modal_workspace_id}" && '
            f'assertion.environment_name == "{cfg.modal_environment}" && assertion.app_name == "{app}"'
        ),
        oidc=iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=MODAL_ISSUER, allowed_audiences=[MODAL_AUDIENCE]),
    )
    serviceaccount.IAMMember(
        "worker-federated-user",
        service_account_id=worker.name,
        role="roles/iam.workloadIdentityUser",
        member=pool.name.apply(lambda name: f"principalSet://iam.googleapis.com/{name}/attribute.app_name/{app}"),
    )
    credential_config = pulumi.Output.all(provider.name, worker.email).apply(
        lambda parts: json.dumps(_credential_config(provider_name=parts[0], worker_email=parts[1]))
    )
    return Federation(pool=pool, provider=provider, credential_config=credential_config)


def _credential_config(provider_name: str, worker_email: str) -> dict[str, object]:
    """What `gcloud iam workload-identity-pools create-cred-config … --credential-source-file`
    writes: exchange the Modal token at STS, then impersonate the worker account."""
    return {
        "universe_domain": "googleapis.com",
        "type": "external_account",
        "audience": f"//iam.googleapis.com/{provider_name}",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": TOKEN_FILE, "format": {"type": "text"}},
        "service_account_impersonation_url": (
            f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{worker_email}:generateAccessToken"
        ),
    }


def modal_worker_secret(cfg: InfraConfig, federation: Federation) -> pulumi.Output[dict[str, str]]:
    """The `omtx-gcp` Modal secret: the same OMTX_* settings the services run with, plus the
    credential configuration. Nothing in it is secret."""
    return federation.credential_config.apply(lambda config: cfg.app_env() | {CREDENTIAL_CONFIG_ENV: config})
