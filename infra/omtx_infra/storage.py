"""Buckets: inputs (submissions, CSV drops) and results (per-job files, batch exports).

Both are private: uniform bucket-level access (no object ACLs) and public access prevention
enforced, so no grant can ever make an object public. Access is per identity (identity.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_gcp import serviceaccount, storage

from omtx_infra.config import InfraConfig
from omtx_infra.identity import BUCKET_ACCESS


@dataclass(frozen=True)
class Buckets:
    inputs: storage.Bucket
    results: storage.Bucket


def _rule(action: str, *, age: int, storage_class: str | None = None) -> storage.BucketLifecycleRuleArgs:
    return storage.BucketLifecycleRuleArgs(
        action=storage.BucketLifecycleRuleActionArgs(type=action, storage_class=storage_class),
        condition=storage.BucketLifecycleRuleConditionArgs(age=age),
    )


def _bucket(cfg: InfraConfig, key: str, name: str, rules: list[storage.BucketLifecycleRuleArgs]) -> storage.Bucket:
    return storage.Bucket(
        f"{key}-bucket",
        name=name,
        project=cfg.project,
        location=cfg.storage_location,
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        # An interrupted upload leaves parts that cost storage and are never listed.
        lifecycle_rules=[*rules, _rule("AbortIncompleteMultipartUpload", age=1)],
        labels={"app": "omtx-hub"},
    )


def create_buckets(cfg: InfraConfig, runtime: dict[str, serviceaccount.Account]) -> Buckets:
    settings = cfg.settings
    buckets = Buckets(
        # Inputs are copied into Firestore at submission; the stored request is kept for audit only.
        inputs=_bucket(cfg, "inputs", settings.inputs_bucket, [_rule("Delete", age=cfg.inputs_retention_days)]),
        # Results are read often while a batch is fresh, rarely after: cheaper storage, then deletion.
        results=_bucket(
            cfg,
            "results",
            settings.results_bucket,
            [
                _rule("SetStorageClass", age=cfg.results_nearline_after_days, storage_class="NEARLINE"),
                _rule("Delete", age=cfg.results_retention_days),
            ],
        ),
    )
    by_key = {"inputs": buckets.inputs, "results": buckets.results}
    for identity, grants in BUCKET_ACCESS.items():
        for key, role in grants.items():
            storage.BucketIAMMember(
                f"{identity}-{key}-{role.rsplit('.', 1)[-1]}",
                bucket=by_key[key].name,
                role=role,
                member=runtime[identity].member,
            )
    return buckets
