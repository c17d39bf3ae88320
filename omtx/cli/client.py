"""A small client of the HTTPS API, used by the CLI."""

from __future__ import annotations

from typing import IO, Any

import requests


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body.get('message', body)}")
        self.status = status
        self.body = body


class ApiClient:
    def __init__(self, base_url: str, timeout_s: float = 120.0, api_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = requests.Session()
        if api_key:
            # X-API-Key, not Authorization: on Cloud Run that header carries the IAM identity token
            self.session.headers["X-API-Key"] = api_key

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.session.request(method, self.base_url + path, timeout=self.timeout_s, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text[:500]}
        if response.status_code >= 400:
            raise ApiError(response.status_code, body)
        result: dict[str, Any] = body
        return result

    def submit(self, request: dict[str, Any], dry_run: bool = False) -> dict[str, Any]:
        return self.call("POST", "/v1/batches", json=request, params={"dry_run": "true"} if dry_run else None)

    def submit_library(
        self, filename: str, library: IO[bytes], request: bytes | None, dry_run: bool = False
    ) -> dict[str, Any]:
        """A library file and its request as multipart/form-data (the server parses the file)."""
        files: dict[str, Any] = {"library": (filename, library, "application/octet-stream")}
        if request is not None:
            files["request"] = ("request.json", request, "application/json")
        return self.call("POST", "/v1/batches", files=files, params={"dry_run": "true"} if dry_run else None)

    def models(self) -> dict[str, Any]:
        return self.call("GET", "/v1/models")

    def batch(self, batch_id: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/batches/{batch_id}")

    def results(
        self,
        batch_id: str,
        limit: int = 1000,
        order_by: str | None = None,
        status: str | None = None,
        filters: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A page of the batch's results view; `filters` are the view's own query parameters
        (`pb_valid=true`, `min_qed=0.5`), checked by the server."""
        params: dict[str, Any] = dict(filters or {}) | {"limit": limit}
        if order_by:
            params["order_by"] = order_by
        if status:
            params["status"] = status
        return self.call("GET", f"/v1/batches/{batch_id}/results", params=params)


def api_client() -> ApiClient:
    """The API of this deployment (settings.api_base_url), with OMTX_API_KEY when one is set."""
    from omtx.settings import get_settings

    settings = get_settings()
    return ApiClient(settings.api_base_url, api_key=settings.api_key.get_secret_value() if settings.api_key else None)
