"""``serah admin create``: the first administrator (and any account, from the
server's shell). There are no default credentials: the password is asked for,
or read once from ``SERAH_ADMIN_PASSWORD`` for an unattended set-up.

``serah`` commands that talk to the gateway (``import``, ``import-plan``,
``labels``) send ``SERAH_TOKEN``: a device token an administrator enrolled
(``POST /api/v1/devices``) with the operator role.

What is done here is recorded like what an administrator does through the API
(``AccountCreated``, ``DeviceEnrolled``), with ``shell:<login name>`` as its actor:
whoever ran the command on the server. The fact is published to Kafka at once when
Kafka answers; otherwise it waits in the store and the gateway publishes it when it
next starts (the first administrator is usually made before anything runs)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from services.gateway.auth.model import Principal
    from services.gateway.auth.service import Identity

admin_app = typer.Typer(help="Accounts, from the server's shell.", no_args_is_help=True)
MONGO_URL = typer.Option("mongodb://127.0.0.1:27017/", envvar="SERAH_MONGO_URL", help="MongoDB URL.")
MONGO_DB = typer.Option("serah", envvar="SERAH_MONGO_DB", help="Database name.")
KAFKA = typer.Option(
    "127.0.0.1:9092",
    envvar="SERAH_KAFKA_BOOTSTRAP",
    help="Kafka, to publish the fact now (else at the gateway's start).",
)
KAFKA_WAIT_S = 10.0


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
    kafka: str = KAFKA,
) -> None:
    """Create an account; prints its id, which (or the NIP) signs in."""
    from pydantic import ValidationError

    from services.gateway.auth.service import IdentityError
    from services.gateway.auth.store import AlreadyThere

    grants = _grants("serah admin create", role)
    password = os.environ.pop("SERAH_ADMIN_PASSWORD", None) or typer.prompt(
        "Password (at least 12 characters)", hide_input=True, confirmation_prompt=True
    )

    async def run() -> dict[str, object]:
        async with _identity(mongo_url, mongo_db, kafka) as identity:
            return await identity.create_account(
                name=name, nip=nip, jabatan=jabatan, grants=grants, password=password, by=shell_principal()
            )

    try:
        doc = asyncio.run(run())
    except AlreadyThere:
        typer.echo("serah admin create: that account exists already (same NIP or name).", err=True)
        raise typer.Exit(1) from None
    except IdentityError as exc:
        typer.echo(f"serah admin create: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        typer.echo(f"serah admin create: {where}: {error['msg']} (a NIP is 18 digits).", err=True)
        raise typer.Exit(2) from None
    roles = ", ".join(f"{g.role}:{g.scope}" for g in grants)
    typer.echo(f"created {doc['_id']} ({name}) with {roles}; sign in with {nip or doc['_id']}.")


@admin_app.command("enrol-device")
def enrol_device_command(
    name: str = typer.Option(..., help="What the device is, e.g. 'HP gudang 1'."),
    role: list[str] = typer.Option(..., "--role", help="role or role:scope, repeatable."),
    mongo_url: str = MONGO_URL,
    mongo_db: str = MONGO_DB,
    kafka: str = KAFKA,
) -> None:
    """Enrol a device (a scanner, or a script such as `serah import`) and print its token
    once; revoke it with DELETE /api/v1/devices/{id}. Give the token as SERAH_TOKEN."""
    token = asyncio.run(enrol_device(mongo_url, mongo_db, name, _grants("serah admin enrol-device", role), kafka))
    typer.echo(token)


async def enrol_device(mongo_url: str, mongo_db: str, name: str, grants: list[Any], kafka: str | None = None) -> str:
    """A device enrolled from the server's shell (as its administrator): its token.
    ``kafka`` None: the fact is left for the gateway's next start to publish."""
    async with _identity(mongo_url, mongo_db, kafka) as identity:
        _, token = await identity.enrol_device(name=name, grants=grants, by=shell_principal())
        return token


def shell_principal() -> Principal:
    """Whoever runs ``serah admin`` on the server, by their login name: ``shell:<user>``."""
    from services.gateway.auth.model import Principal

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return Principal(kind="shell", id=re.sub(r"[^A-Za-z0-9_.@-]", "-", user)[:64] or "unknown", name=user)


@contextlib.asynccontextmanager
async def _identity(mongo_url: str, mongo_db: str, kafka: str | None) -> AsyncIterator[Identity]:
    """The gateway's identity rules over its store, publishing through Kafka when it answers."""
    from events.envelope import utcnow
    from services.common.mongo import connect
    from services.gateway.adapters.kafka import CommandBus
    from services.gateway.auth.service import Identity
    from services.gateway.auth.store import MongoIdentityStore

    client, db = connect(mongo_url, mongo_db)
    bus = CommandBus(kafka) if kafka else None
    try:
        if bus is not None:
            try:
                await asyncio.wait_for(bus.start(), KAFKA_WAIT_S)
            except Exception:  # noqa: BLE001 - Kafka is not up: the gateway publishes at its start
                logging.getLogger(__name__).debug("Kafka at %s did not answer", kafka, exc_info=True)
                with contextlib.suppress(Exception):
                    await bus.stop()
                bus = None
                typer.echo(
                    "(Kafka did not answer: the gateway records this in the history when it next starts.)", err=True
                )
        yield Identity(MongoIdentityStore(db), utcnow, publish=bus.publish if bus else None)
    finally:
        if bus is not None:
            await bus.stop()
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
