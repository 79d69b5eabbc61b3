"""A real MLflow tracking server (PyPI ``mlflow``, from ``.venv-mlflow``: ``make mlflow-server``)
on a free port, SQLite behind it, with MLflow's own ``basic-auth`` app: users, per-model
permissions, 401 and 403 as MLflow answers them. Models and versions are registered through the
REST API as the admin; the adapter under test signs in as a user of its own.

Not a stand-in: the tests of the MLflow adapter run against the server itself. It takes several
seconds to start, so a test session starts one (``mlflow_server`` fixture) and each test uses
models of its own names.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.faults.cluster import kill_group
from workers.devserver import free_port

ROOT = Path(__file__).resolve().parents[2]
MLFLOW = ROOT / ".venv-mlflow" / "bin" / "mlflow"
API = "/api/2.0/mlflow"
STARTUP_SECONDS = 180.0


@dataclass
class MlflowServer:
    url: str
    admin: tuple[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    def call(
        self, method: str, path: str, *, auth: tuple[str, str] | None = None, **kw: Any
    ) -> dict[str, Any]:
        """One REST call as the admin (or ``auth``); an AssertionError unless it succeeds."""
        answer = httpx.request(
            method, f"{self.url}{path}", auth=auth or self.admin, timeout=30.0, **kw
        )
        assert answer.is_success, f"{method} {path}: HTTP {answer.status_code} {answer.text}"
        body = answer.json() if answer.content else {}
        return body if isinstance(body, dict) else {}

    def register(
        self, name: str, versions: list[str | None], *, alias: str = "champion", serving: int = 0
    ) -> None:
        """A registered model with one version per entry (tagged ``orchestrator.version`` with
        it; None: untagged), numbered from 1, and ``alias`` on version ``serving`` (0: none)."""
        self.call("POST", f"{API}/registered-models/create", json={"name": name})
        for i, tag in enumerate(versions, start=1):
            tags = [] if tag is None else [{"key": "orchestrator.version", "value": tag}]
            self.call(
                "POST",
                f"{API}/model-versions/create",
                json={"name": name, "source": f"s3://cx-models/{name}/{i}", "tags": tags},
            )
        if serving:
            self.set_alias(name, alias, serving)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        body = {"name": name, "alias": alias, "version": str(version)}
        self.call("POST", f"{API}/registered-models/alias", json=body)

    def alias(self, name: str, alias: str = "champion") -> str:
        """The version number ``alias`` points at, as the admin reads it."""
        got = self.call(
            "GET", f"{API}/registered-models/alias", params={"name": name, "alias": alias}
        )
        return str(got["model_version"]["version"])

    def user(self, username: str, password: str, *, edit: tuple[str, ...] = ()) -> None:
        """A user (READ on every model, the server's default) with EDIT on the ``edit`` models."""
        self.call("POST", f"{API}/users/create", json={"username": username, "password": password})
        for model in edit:
            grant = {
                "username": username,
                "resource_type": "registered_model",
                "resource_id": model,
                "permission": "EDIT",
            }
            self.call("POST", "/api/3.0/mlflow/users/permissions/grant", json=grant)


def _auth_config(folder: Path, admin_password: str) -> Path:
    path = folder / "basic_auth.ini"
    path.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'auth.db'}\n"
        "admin_username = admin\n"
        f"admin_password = {admin_password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        # A checked password is remembered a while (MLflow's option; a wrong one never is):
        # each check otherwise costs a PBKDF2 hash, a second a request on a busy machine.
        "auth_cache_ttl_seconds = 600\n",
        encoding="utf-8",
    )
    return path


@contextlib.contextmanager
def running_mlflow(folder: Path) -> Iterator[MlflowServer]:
    """``mlflow server`` on a free port until the block ends (stopped by its process group)."""
    if not MLFLOW.exists():
        raise RuntimeError(
            f"{MLFLOW} is missing: run 'make mlflow-server' (it builds .venv-mlflow)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    admin = ("admin", f"admin-{secrets.token_hex(12)}")
    port = free_port()
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(_auth_config(folder, admin[1])),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_hex(16),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    log = folder / "mlflow-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(MLFLOW),
                "server",
                "--app-name",
                "basic-auth",
                "--backend-store-uri",
                f"sqlite:///{folder / 'mlflow.db'}",
                "--default-artifact-root",
                str(folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    server = MlflowServer(f"http://127.0.0.1:{port}", admin, process, log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        kill_group(process, signal.SIGTERM)  # the server and the workers it started


def _wait_healthy(server: MlflowServer) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mlflow server exited ({server.process.returncode}): {tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/health", timeout=2.0).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"mlflow server not healthy after {STARTUP_SECONDS:.0f}s: see {server.log}")
