"""HTTPS API: submit batches and read them. functions-framework target `submit`."""

import flask
import functions_framework

from omtx.api.routes import handle
from omtx.handlers import handle_http
from omtx.logs import setup_logging

setup_logging()


@functions_framework.http
def submit(request: flask.Request) -> flask.Response:
    return handle_http(request, handle)
