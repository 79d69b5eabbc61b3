"""``python -m orchestrator.ingest [PATH]``: write the OpenAPI document (YAML) to PATH or stdout."""

import sys

from orchestrator.ingest.openapi import main

raise SystemExit(main(sys.argv))
