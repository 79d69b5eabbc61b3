"""The end-to-end tests drive the worker on the Temporal dev server, as tests/workflows does."""

from tests.workflows.conftest import make_dev_harness

__all__ = ["make_dev_harness"]
