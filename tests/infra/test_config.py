"""The stack configuration: one typed object, defaults, and errors before anything changes."""

import os

import pytest

from omtx_infra.config import DEFAULT_SERVICES, InfraConfig
from tests.infra.program import PROJECT, load

KEY = "omtx-hub:"


def test_defaults_and_gcp_fallbacks() -> None:
    cfg = load()
    assert isinstance(cfg, InfraConfig)
    assert (cfg.project, cfg.region, cfg.database_location) == (PROJECT, "europe-west1", "europe-west1")
    assert cfg.image_tag == "20261130"  # digits stay text
    assert cfg.api_public is False and cfg.api_invokers == ()
    assert cfg.services == DEFAULT_SERVICES
    assert (cfg.settings.inputs_bucket, cfg.settings.results_bucket) == (
        f"{PROJECT}-omtx-inputs",
        f"{PROJECT}-omtx-results",
    )


def test_values_override_defaults_key_by_key() -> None:
    cfg = load(
        {
            KEY + "firestoreLocation": "nam5",
            KEY + "services": '{"complete": {"maxInstances": 40}}',
            KEY + "appSettings": '{"job_deadline_s": 1800}',
            KEY + "sortableJobFields": '["metrics.mw"]',
        }
    )
    assert cfg.database_location == "nam5" and cfg.region == "europe-west1"
    assert cfg.services["complete"] == DEFAULT_SERVICES["complete"].model_copy(update={"max_instances": 40})
    assert cfg.services["aggregate"] == DEFAULT_SERVICES["aggregate"]
    assert cfg.settings.job_deadline_s == 1800 and cfg.app_env()["OMTX_JOB_DEADLINE_S"] == "1800"
    assert cfg.sortable_job_fields == ("metrics.mw",)


def test_deployed_settings_ignore_the_deployers_environment() -> None:
    os.environ["OMTX_TOPIC_SUBMITTED"] = "from-my-laptop"  # restored by tests/conftest.py
    assert load().settings.topic_submitted == "submitted"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"services": '{"dispatch": {"timeoutS": 30}}'}, "shorter than the ack deadline"),
        ({"services": '{"gpu": {}}'}, "unknown services"),
        ({"maxDeliveryAttempts": "3"}, "greater than or equal to 5"),
        ({"pushMinBackoffS": "60", "pushMaxBackoffS": "30"}, "pushMinBackoffS"),
        ({"appSettings": '{"job_max_attempts": 0}'}, "job_max_attempts"),
        ({"appSettings": '{"results_bucket": "elsewhere"}'}, "are set by the stack"),
        ({"modalWorkspaceId": "my-workspace"}, "modal_workspace_id"),
    ],
)
def test_bad_values_fail_before_any_change(config: dict[str, str], message: str) -> None:
    error = load({KEY + k: v for k, v in config.items()})
    assert isinstance(error, ValueError) and message in str(error)
