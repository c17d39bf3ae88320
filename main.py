"""One container image serves every service: FUNCTION_TARGET picks the entry point."""

from services.aggregate.main import aggregate
from services.complete.main import complete
from services.dispatch.main import dispatch
from services.submit.main import submit

__all__ = ["aggregate", "complete", "dispatch", "submit"]
