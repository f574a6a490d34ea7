"""``serah admin create``: the first administrator (and any account, from the
server's shell). There are no default credentials: the password is asked for,
or read once from ``SERAH_ADMIN_PASSWORD`` for an unattended set-up.

``serah`` commands that talk to the gateway (``import``, ``import-plan``,
``labels``) send ``SERAH_TOKEN``: a device token an administrator enrolled
(``POST /api/v1/devices``) with the operator role."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import typer

admin_app = typer.Typer(help="Accounts, from the server's shell.", no_args_is_help=True)
MONGO_URL = typer.Option("mongodb://127.0.0.1:27017/", envvar="SERAH_MONGO_URL", help="MongoDB URL.")
MONGO_DB = typer.Option("serah", envvar="SERAH_MONGO_DB", help="Database name.")


@admin_app.command("create")
def create(
    name: str = typer.Option(..., help="The person's name, as on their ID."),
    nip: str = typer.Option(None, help="18-digit NIP (a civil servant signs in with it)."),
    jabatan: str = typer.Option(None, help="Position, as it is printed on a BAST."),
    role: list[str] = typer.Option(
        ["admin"], "--role", help="role or role:scope, repeatable (admin, operator, warehouse, recipient:32.73, …)."
    ),
    mongo_url: str = MONGO_URL,
    mongo_db: str = MONGO_DB,
) -> None:
    """Create an account; prints its id, which (or the NIP) signs in."""
    from events.envelope import utcnow
    from services.common.mongo import connect
    from services.gateway.auth.service import Identity, IdentityError
    from services.gateway.auth.store import AlreadyThere, MongoIdentityStore

    grants = _grants("serah admin create", role)
    password = os.environ.pop("SERAH_ADMIN_PASSWORD", None) or typer.prompt(
        "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
    )

    async def run() -> dict[str, object]:
        client, db = connect(mongo_url, mongo_db)
        try:
            identity = Identity(MongoIdentityStore(db), utcnow)
            return await identity.create_account(name=name, nip=nip, jabatan=jabatan, grants=grants, password=password)
        finally:
            await client.close()

    try:
        doc = asyncio.run(run())
    except AlreadyThere:
        typer.echo("serah admin create: that account exists already (same NIP or name).", err=True)
        raise typer.Exit(1) from None
    except IdentityError as exc:
        typer.echo(f"serah admin create: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    roles = ", ".join(f"{g.role}:{g.scope}" for g in grants)
    typer.echo(f"created {doc['_id']} ({name}) with {roles}; sign in with {nip or doc['_id']}.")


@admin_app.command("enrol-device")
def enrol_device_command(
    name: str = typer.Option(..., help="What the device is, e.g. 'HP gudang 1'."),
    role: list[str] = typer.Option(..., "--role", help="role or role:scope, repeatable."),
    mongo_url: str = MONGO_URL,
    mongo_db: str = MONGO_DB,
) -> None:
    """Enrol a device (a scanner, or a script such as `serah import`) and print its token
    once; revoke it with DELETE /api/v1/devices/{id}. Give the token as SERAH_TOKEN."""
    token = asyncio.run(enrol_device(mongo_url, mongo_db, name, _grants("serah admin enrol-device", role)))
    typer.echo(token)


async def enrol_device(mongo_url: str, mongo_db: str, name: str, grants: list[Any]) -> str:
    """A device enrolled from the server's shell (as its administrator): its token."""
    from events.envelope import utcnow
    from services.common.mongo import connect
    from services.gateway.auth.model import Principal
    from services.gateway.auth.service import Identity
    from services.gateway.auth.store import MongoIdentityStore

    shell = Principal(kind="person", id="server-shell", name="the server's shell")
    client, db = connect(mongo_url, mongo_db)
    try:
        _, token = await Identity(MongoIdentityStore(db), utcnow).enrol_device(name=name, grants=grants, by=shell)
        return token
    finally:
        await client.close()


def _grants(command: str, roles: list[str]) -> list[Any]:
    from pydantic import ValidationError

    from services.gateway.auth.model import Grant

    try:
        return [Grant.model_validate({"role": r.partition(":")[0], "scope": r.partition(":")[2] or "*"}) for r in roles]
    except ValidationError as exc:
        typer.echo(f"{command}: a --role is not a role[:scope]: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None


def auth_headers() -> dict[str, str]:
    """The header the CLI's requests carry: the device token in ``SERAH_TOKEN``."""
    token = os.environ.get("SERAH_TOKEN", "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}
