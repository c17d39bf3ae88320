"""Cloud Run: the four services, all from one image, each picking its entry point with
FUNCTION_TARGET, and who may invoke each.

Only submit (the HTTPS API) accepts traffic from the internet; the event-driven services take
internal traffic only (Pub/Sub, Eventarc and Cloud Scheduler of the same project count as
internal). Every service requires IAM invocation: the pushing identity for event-driven ones, the
scheduler and push identities plus `apiInvokers` for submit, and everyone only if `apiPublic`.
"""

from __future__ import annotations

import math
import re

import pulumi
from pulumi_gcp import cloudrunv2

from omtx.settings import SERVICES
from omtx_infra.config import InfraConfig
from omtx_infra.identity import Identities
from omtx_infra.secrets import ModalToken

SIGNATURES = {"submit": "http", "dispatch": "cloudevent", "complete": "cloudevent", "aggregate": "cloudevent"}
PUBLIC_SERVICE = "submit"
PUBLIC_MEMBER = "allUsers"


def _env(name: str, value: str) -> cloudrunv2.ServiceTemplateContainerEnvArgs:
    return cloudrunv2.ServiceTemplateContainerEnvArgs(name=name, value=value)


def _secret_env(name: str, secret: pulumi.Input[str]) -> cloudrunv2.ServiceTemplateContainerEnvArgs:
    return cloudrunv2.ServiceTemplateContainerEnvArgs(
        name=name,
        value_source=cloudrunv2.ServiceTemplateContainerEnvValueSourceArgs(
            secret_key_ref=cloudrunv2.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                secret=secret, version="latest"
            )
        ),
    )


def _envs(cfg: InfraConfig, name: str, modal_token: ModalToken) -> list[cloudrunv2.ServiceTemplateContainerEnvArgs]:
    sizing = cfg.services[name]
    envs = [
        _env("FUNCTION_TARGET", name),
        _env("FUNCTION_SIGNATURE_TYPE", SIGNATURES[name]),
        # functions-framework's gunicorn: without these it sizes threads from the host's cores,
        # not from the instance's, and the concurrency Cloud Run sends would not match.
        _env("WORKERS", str(sizing.workers)),
        _env("THREADS", str(math.ceil(sizing.concurrency / sizing.workers))),
        *(_env(key, value) for key, value in cfg.app_env().items()),
    ]
    if name == "dispatch":  # the only caller of Modal
        envs += [
            _secret_env("MODAL_TOKEN_ID", modal_token.token_id.secret_id),
            _secret_env("MODAL_TOKEN_SECRET", modal_token.token_secret.secret_id),
        ]
    return envs


def create_services(
    cfg: InfraConfig, image: pulumi.Input[str], identities: Identities, modal_token: ModalToken
) -> dict[str, cloudrunv2.Service]:
    services: dict[str, cloudrunv2.Service] = {}
    for name in SERVICES:
        sizing = cfg.services[name]
        services[name] = cloudrunv2.Service(
            name,
            name=f"omtx-{name}",
            project=cfg.project,
            location=cfg.region,
            ingress="INGRESS_TRAFFIC_ALL" if name == PUBLIC_SERVICE else "INGRESS_TRAFFIC_INTERNAL_ONLY",
            invoker_iam_disabled=False,
            # Stateless: replacing or deleting a service loses nothing.
            deletion_protection=False,
            labels={"app": "omtx-hub"},
            template=cloudrunv2.ServiceTemplateArgs(
                service_account=identities.runtime[name].email,
                timeout=f"{sizing.timeout_s}s",
                max_instance_request_concurrency=sizing.concurrency,
                scaling=cloudrunv2.ServiceTemplateScalingArgs(
                    min_instance_count=sizing.min_instances, max_instance_count=sizing.max_instances
                ),
                containers=[
                    cloudrunv2.ServiceTemplateContainerArgs(
                        image=image,
                        envs=_envs(cfg, name, modal_token),
                        resources=cloudrunv2.ServiceTemplateContainerResourcesArgs(
                            limits={"cpu": sizing.cpu, "memory": sizing.memory},
                            cpu_idle=True,  # work happens inside requests; billed per request
                            startup_cpu_boost=True,  # RDKit and the Google clients import on cold start
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(depends_on=modal_token.ready if name == "dispatch" else []),
        )
    _grant_invokers(cfg, services, identities)
    return services


def _grant_invokers(cfg: InfraConfig, services: dict[str, cloudrunv2.Service], identities: Identities) -> None:
    push = ("pubsub-push", identities.pubsub_push.member)
    invokers: dict[str, list[tuple[str, pulumi.Input[str]]]] = {
        "submit": [push, ("scheduler", identities.scheduler.member), *((m, m) for m in cfg.api_invokers)],
        "dispatch": [push],
        "complete": [push],
        "aggregate": [("eventarc", identities.eventarc.member)],
    }
    if cfg.api_public:
        pulumi.log.warn(
            "apiPublic: the submit service is invokable by anyone, including its /internal/reconcile and "
            "/pubsub/bucket-events routes, which do not check who calls them"
        )
        invokers[PUBLIC_SERVICE].append((PUBLIC_MEMBER, PUBLIC_MEMBER))
    for name, members in invokers.items():
        for label, member in members:
            cloudrunv2.ServiceIamMember(
                f"{name}-invoker-{re.sub(r'[^a-z0-9]+', '-', label.lower())}",
                project=cfg.project,
                location=cfg.region,
                name=services[name].name,
                role="roles/run.invoker",
                member=member,
            )
