"""Runs the Pulumi program (infra/__main__.py) offline under Pulumi's mocks and records every
resource it declares, with its inputs resolved, and every stack export.

The mocks answer as GCP would for the few outputs the program reads back (service account
emails, service URLs, topic ids, the project number); nothing else is invented.
"""

from __future__ import annotations

import runpy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from omtx_infra.config import load_config

INFRA = Path(__file__).resolve().parents[2] / "infra"
PROJECT = "omtx-test"
PROJECT_NUMBER = "123456789012"
PULUMI_PROJECT = "omtx-hub"

BASE_CONFIG = {
    "gcp:project": PROJECT,
    "gcp:region": "europe-west1",
    f"{PULUMI_PROJECT}:imageTag": "20261130",  # digits only: must stay a string
    f"{PULUMI_PROJECT}:modalWorkspaceId": "ac-test123",
}
SECRETS = {
    f"{PULUMI_PROJECT}:modalTokenId": "ak-test",
    f"{PULUMI_PROJECT}:modalTokenSecret": "as-test",
}


@dataclass(frozen=True)
class Resource:
    type: str  # e.g. "gcp:pubsub/subscription:Subscription"
    name: str  # the Pulumi resource name
    inputs: dict[str, Any]  # camelCase keys, as the provider receives them

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]


@dataclass
class Deployed:
    resources: list[Resource] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def of(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str) -> Resource:
        (found,) = [r for r in self.of(type_) if r.name == name]
        return found


def _outputs(typ: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """What GCP computes that the program reads back."""
    project = inputs.get("project", PROJECT)
    if typ == "gcp:serviceaccount/account:Account":
        email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
        return {
            "email": email,
            "member": f"serviceAccount:{email}",
            "name": f"projects/{project}/serviceAccounts/{email}",
        }
    if typ == "gcp:cloudrunv2/service:Service":
        return {"uri": f"https://{inputs['name']}-x7y2k3-ew.a.run.app"}
    if typ in ("gcp:pubsub/topic:Topic", "gcp:pubsub/subscription:Subscription"):
        kind = "topics" if typ.endswith("Topic") else "subscriptions"
        return {"id": f"projects/{project}/{kind}/{inputs['name']}"}
    if typ == "gcp:secretmanager/secret:Secret":
        return {"id": f"projects/{project}/secrets/{inputs['secretId']}"}
    pools = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools"
    if typ == "gcp:iam/workloadIdentityPool:WorkloadIdentityPool":
        return {"name": f"{pools}/{inputs['workloadIdentityPoolId']}"}
    if typ == "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider":
        pool, provider = inputs["workloadIdentityPoolId"], inputs["workloadIdentityPoolProviderId"]
        return {"name": f"{pools}/{pool}/providers/{provider}"}
    return {}


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, deployed: Deployed) -> None:
        self.deployed = deployed

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.deployed.resources.append(Resource(args.typ, args.name, dict(args.inputs)))
        state = dict(args.inputs) | _outputs(args.typ, args.inputs)
        return state.get("id", f"{args.name}-id"), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": PROJECT_NUMBER, "projectId": PROJECT}
        if args.token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            email = f"service-{PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
            return {"emailAddress": email, "member": f"serviceAccount:{email}"}
        raise NotImplementedError(f"the program called {args.token}, which these mocks do not answer")


def deploy(config: dict[str, str] | None = None) -> Deployed:
    """Run infra/__main__.py against the mocks with BASE_CONFIG (updated with `config`)."""
    deployed = Deployed()
    pulumi.runtime.set_mocks(RecordingMocks(deployed), project=PULUMI_PROJECT, stack="test", preview=False)
    pulumi.runtime.set_all_config(BASE_CONFIG | SECRETS | (config or {}), secret_keys=list(SECRETS))
    exported: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[list[Any]]:
        runpy.run_path(str(INFRA / "__main__.py"), run_name="__main__")
        names = list(exported)
        return pulumi.Output.all(*exported.values()).apply(
            lambda values: deployed.exports.update(zip(names, values, strict=True))
        )

    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        # pulumi_gcp's package imports warn about its own deprecated aliases; they are not ours.
        warnings.filterwarnings("ignore", r"gcp\..* has been deprecated", DeprecationWarning)
        patch.setattr(pulumi, "export", lambda name, value: exported.__setitem__(name, value))
        patch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: deployed.warnings.append(message))
        program()
    return deployed


def load(config: dict[str, str] | None = None) -> Any:
    """load_config() under the mocks: the InfraConfig, or the exception it raised."""
    pulumi.runtime.set_mocks(RecordingMocks(Deployed()), project=PULUMI_PROJECT, stack="test", preview=False)
    pulumi.runtime.set_all_config(BASE_CONFIG | SECRETS | (config or {}), secret_keys=list(SECRETS))
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> None:
        try:
            result["value"] = load_config()
        except Exception as exc:  # the test inspects it
            result["value"] = exc

    program()
    return result["value"]
