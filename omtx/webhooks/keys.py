"""The deployment's webhook signing key, and each batch's secret derived from it."""

from __future__ import annotations

from omtx.settings import Settings, get_settings
from omtx.webhooks.signing import batch_secret

# The local stack and tests sign with this when no key is set; the cloud never does (a batch with
# a webhook URL is refused there without a configured key, see urls.check_webhook_url).
LOCAL_SIGNING_KEY = b"omtx-local-stack-webhook-signing-key: not a secret"


class WebhooksNotConfigured(RuntimeError):
    """A cloud deployment has no signing key: it cannot sign webhooks."""


def signing_key(settings: Settings) -> bytes:
    if settings.webhook_signing_key is not None:
        return settings.webhook_signing_key.get_secret_value().encode()
    if settings.deployment == "local":
        return LOCAL_SIGNING_KEY
    raise WebhooksNotConfigured("OMTX_WEBHOOK_SIGNING_KEY is not set")


def secret_for(batch_id: str, settings: Settings | None = None) -> str:
    """The batch's webhook secret (`whsec_…`): what submit returns with the batch id."""
    return batch_secret(signing_key(settings or get_settings()), batch_id)
