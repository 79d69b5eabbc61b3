"""``orchestrator token create|hash``: operator tokens and the tokens file (docs/security.md).

``create`` makes a token for a named principal with roles, adds its hash to the tokens file
(``--tokens-file``, default ``$ORCHESTRATOR_TOKENS_FILE``) and prints the token once; only the
hash is kept. ``hash`` prints the entry key of a token read from stdin, for files kept elsewhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pydantic
import typer

from orchestrator.cli.common import fail, settings_of
from orchestrator.config.principals import (
    Principals,
    new_token,
    token_hash,
    tokens_document,
)
from orchestrator.domain.principals import Principal, Role
from orchestrator.errors import ConfigError

app = typer.Typer(help="Operator tokens: make one for a principal, hash one.", no_args_is_help=True)
ROLES = ", ".join(r.label for r in Role)


def _principal(name: str, roles: list[str]) -> Principal:
    try:
        return Principal(name=name, roles=frozenset(Role.parse(r) for r in roles))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        if isinstance(exc, pydantic.ValidationError):
            raise fail(f"--name: {exc.errors()[0]['msg']}") from None
        raise fail(f"--role: {exc}") from None


@app.command()
def create(
    ctx: typer.Context,
    name: str = typer.Option(..., help="The principal: who the audit records (maria.oncall)"),
    role: list[str] = typer.Option(..., help=f"A role ({ROLES}); each includes those before"),
    tokens_file: Path | None = typer.Option(
        None, help="Tokens file to add the hash to (default $ORCHESTRATOR_TOKENS_FILE)"
    ),
) -> None:
    """Make a token for NAME with ROLEs, add its hash to the tokens file, print the token once.

    A name already in the file must keep the same roles (a second token lets it be rotated).
    Restart the API (or send the file to every replica) for the new token to be accepted.
    """
    path = tokens_file or settings_of(ctx).tokens_file
    if path is None:
        raise fail("say which file: --tokens-file PATH (or set ORCHESTRATOR_TOKENS_FILE)")
    principal = _principal(name, role)
    try:
        existing = Principals.from_yaml(path.read_text(encoding="utf-8"), str(path))
    except FileNotFoundError:
        existing = Principals()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    except ConfigError as exc:
        raise fail(str(exc)) from None
    token = new_token()
    try:
        pairs = [*existing.pairs(), (token_hash(token), principal)]
        Principals.of(pairs, str(path))  # the checks the API makes when it loads the file
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(tokens_document(pairs), encoding="utf-8")
        os.replace(temporary, path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot write {path}: {exc.strerror or exc}") from None
    typer.echo(f"added {principal.describe()} to {path}; the token (shown once):", err=True)
    typer.echo(token)


@app.command("hash")
def hash_(ctx: typer.Context) -> None:
    """Print the tokens-file key (sha256:<hex>) of the token given on stdin."""
    token = sys.stdin.readline().strip()
    if not token:
        raise fail('give the token on stdin (echo "$TOKEN" | orchestrator token hash)')
    typer.echo(token_hash(token))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="token")
