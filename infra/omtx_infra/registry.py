"""Artifact Registry: where Cloud Build pushes the one service image."""

from __future__ import annotations

import pulumi
from pulumi_gcp import artifactregistry

from omtx_infra.config import InfraConfig

IMAGE_NAME = "omtx-hub"


def create_repository(cfg: InfraConfig) -> artifactregistry.Repository:
    return artifactregistry.Repository(
        "images",
        repository_id=cfg.repository,
        project=cfg.project,
        location=cfg.region,
        format="DOCKER",
        description="OMTX-Hub service images (one image, one FUNCTION_TARGET per Cloud Run service)",
        # A tag names one image forever, so the imageTag in a stack's config is a reproducible deploy.
        docker_config=artifactregistry.RepositoryDockerConfigArgs(immutable_tags=True),
        cleanup_policies=[
            artifactregistry.RepositoryCleanupPolicyArgs(
                id="keep-recent",
                action="KEEP",
                most_recent_versions=artifactregistry.RepositoryCleanupPolicyMostRecentVersionsArgs(keep_count=20),
            ),
            artifactregistry.RepositoryCleanupPolicyArgs(
                id="delete-old",
                action="DELETE",
                condition=artifactregistry.RepositoryCleanupPolicyConditionArgs(tag_state="ANY", older_than="7776000s"),
            ),
        ],
    )


def image_url(cfg: InfraConfig, repository: artifactregistry.Repository) -> pulumi.Output[str]:
    """The image every service runs (Cloud Build pushes it under this name and tag)."""
    return repository.repository_id.apply(
        lambda repo: f"{cfg.region}-docker.pkg.dev/{cfg.project}/{repo}/{IMAGE_NAME}:{cfg.image_tag}"
    )
