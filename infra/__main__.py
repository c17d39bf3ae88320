"""Pulumi entry point (`pulumi up` in this directory); see README.md."""

from omtx_infra.config import load_config
from omtx_infra.program import build, export

export(build(load_config()))
