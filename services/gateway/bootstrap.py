"""Builds the gateway's dependencies. Called from the app's lifespan, never at import."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from events import labels
from events.envelope import utcnow
from services.common.clock import CHECK_EVERY_S, ClockGuard
from services.gateway import ports
from services.gateway.auth.oidc import Provider
from services.gateway.auth.service import Identity
from services.gateway.config import GatewaySettings
from services.gateway.identity import LabelIssuer

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    """Everything a route may use: the ports (services/gateway/ports.py), the label
    issuer, the key ring receipt codes are hashed with, and the clock. Routes reach it
    through ``deps.GW``."""

    settings: GatewaySettings
    bus: ports.CommandBus
    waiter: ports.Decisions
    reads: ports.Views
    probe: ports.KafkaProbe
    store_probe: ports.StoreProbe
    issuer: LabelIssuer
    audit: ports.AuditViews
    consignments: ports.ConsignmentViews
    identity: Identity
    receipt_code_keys: Mapping[str, bytes]
    clock: Callable[[], datetime] = utcnow
    sso: Provider | None = None  # the organisation's identity provider, where there is one
    # How often facts a passing Kafka failure left unpublished are tried again.
    republish_every_s: float = 60.0
    # This process's clock against the store's (services/common/clock.py), compared while it runs.
    clock_guard: ClockGuard = field(default_factory=ClockGuard)
    _republisher: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _clock_checks: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def start(self) -> None:
        from deploy.topics import ensure_topics

        s = self.settings
        await asyncio.to_thread(ensure_topics, s.kafka_bootstrap, s.topic_partitions, s.topic_replication)
        await self.bus.start()
        # Identity facts a crash (or a shell without Kafka) left in the store: published now.
        await self.identity.publish_unpublished()
        await self.record_key_rings()
        await self.waiter.start()
        self._republisher = asyncio.create_task(self._republish())
        self._clock_checks = asyncio.create_task(self._compare_clocks())

    async def _compare_clocks(self) -> None:
        while True:
            try:
                await self.clock_guard.compare(self.reads.ping)
            except Exception:  # noqa: BLE001 - the store away: the last comparison stands
                log.warning("clock not compared with the store's")
            await asyncio.sleep(CHECK_EVERY_S)

    async def _republish(self) -> None:
        """An identity fact Kafka did not take at once (the change stood, the fact waits in
        its document) is published while the gateway runs, not only at its next start."""
        while True:
            await asyncio.sleep(self.republish_every_s)
            try:
                await self.identity.publish_unpublished()
            except Exception:  # noqa: BLE001 - Kafka still away: the facts wait for the next round
                log.warning("identity facts still unpublished; trying again in %.0f s", self.republish_every_s)

    async def record_key_rings(self) -> None:
        """The key rings this gateway was started with, in the history when they changed:
        a rotation is recorded however it was made (a ring edited in the environment)."""
        signing = self.settings.signing_keys()
        await self.identity.record_key_ring(
            "label-signing", list(signing), {kid: _b64(labels.public_key(seed)) for kid, seed in signing.items()}
        )
        await self.identity.record_key_ring("receipt-codes", list(self.receipt_code_keys), {})
        checkpoints = labels.parse_keyring(self.settings.audit_public_keys)
        await self.identity.record_key_ring(
            "audit-checkpoints", list(checkpoints), {kid: _b64(raw) for kid, raw in checkpoints.items()}, active=False
        )

    async def stop(self) -> None:
        for task in (self._republisher, self._clock_checks):
            if task is not None:
                task.cancel()
        await self.waiter.stop()
        await self.bus.stop()
        if self.sso is not None:
            await self.sso.http.aclose()
        await asyncio.to_thread(self.probe.close)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sso(settings: GatewaySettings) -> Provider | None:
    import httpx

    from services.gateway.auth.oidc import ClaimMap

    if not settings.oidc_issuer:
        return None
    return Provider(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret.get_secret_value(),
        redirect_uri=settings.sso_callback_url(),
        mapping=ClaimMap(
            roles=settings.oidc_roles_claim,
            office=settings.oidc_office_claim,
            nip=settings.oidc_nip_claim,
            jabatan=settings.oidc_jabatan_claim,
            role_prefix=settings.oidc_role_prefix,
        ),
        # A provider that hangs must not hold a sign-in (or a worker thread) for long.
        http=httpx.AsyncClient(timeout=httpx.Timeout(10.0), follow_redirects=False),
        clock=utcnow,
    )


def bootstrap(settings: GatewaySettings) -> Gateway:
    from services.common.mongo import connect
    from services.gateway.adapters.audit_reads import AuditReads
    from services.gateway.adapters.consignment_reads import ConsignmentReads
    from services.gateway.adapters.kafka import CommandBus, DecisionWaiter, KafkaProbe
    from services.gateway.adapters.mongo import ReadModels, StoreWriteProbe
    from services.gateway.auth.store import MongoIdentityStore

    receipt_code_keys = settings.receipt_code_keyring()  # like the label issuer, refuses to start without a key
    _, db = connect(settings.mongo_url, settings.mongo_db)
    bus = CommandBus(settings.kafka_bootstrap, settings.kafka_send_timeout_s)
    return Gateway(
        settings=settings,
        bus=bus,
        waiter=DecisionWaiter(settings.kafka_bootstrap),
        reads=ReadModels(db),
        probe=KafkaProbe(settings.kafka_bootstrap),
        store_probe=StoreWriteProbe(db),
        issuer=LabelIssuer(settings.signing_keys(), settings.public_base_url),
        audit=AuditReads(db),
        consignments=ConsignmentReads(db),
        identity=Identity(MongoIdentityStore(db), utcnow, publish=bus.publish),
        receipt_code_keys=receipt_code_keys,
        sso=sso(settings),
    )
