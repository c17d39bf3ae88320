"""Secret Manager: the Modal token dispatch spawns workers with.

The values come from the stack's encrypted config (`pulumi config set --secret modalTokenId …`),
stay encrypted in Pulumi's state, and reach Cloud Run as environment variables read from Secret
Manager at instance start. Only the dispatch identity may read them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_gcp import secretmanager, serviceaccount

from omtx_infra.config import InfraConfig


@dataclass(frozen=True)
class ModalToken:
    token_id: secretmanager.Secret
    token_secret: secretmanager.Secret
    # Cloud Run checks at deploy time that the secret has a version the service may read.
    ready: list[pulumi.Resource]


def _secret(
    cfg: InfraConfig, secret_id: str, value: pulumi.Output[str], reader: serviceaccount.Account
) -> tuple[secretmanager.Secret, list[pulumi.Resource]]:
    secret = secretmanager.Secret(
        secret_id,
        secret_id=secret_id,
        project=cfg.project,
        replication=secretmanager.SecretReplicationArgs(auto=secretmanager.SecretReplicationAutoArgs()),
    )
    # A value read with require_secret stays a secret: encrypted in the state, masked in output.
    version = secretmanager.SecretVersion(f"{secret_id}-value", secret=secret.id, secret_data=value)
    grant = secretmanager.SecretIamMember(
        f"{secret_id}-reader",
        project=cfg.project,
        secret_id=secret.secret_id,
        role="roles/secretmanager.secretAccessor",
        member=reader.member,
    )
    return secret, [version, grant]


def create_modal_token(cfg: InfraConfig, reader: serviceaccount.Account) -> ModalToken:
    token_id, id_ready = _secret(cfg, "modal-token-id", cfg.modal_token_id, reader)
    token_secret, secret_ready = _secret(cfg, "modal-token-secret", cfg.modal_token_secret, reader)
    return ModalToken(token_id=token_id, token_secret=token_secret, ready=id_ready + secret_ready)
