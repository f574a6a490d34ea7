"""The errors the real adapters' clients raise when Kafka or the store cannot be
reached, named here so the HTTP edge can answer them without importing either
client (services/gateway/errors.py: 503 with Retry-After, never a 500)."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from pymongo.errors import ConnectionFailure, OperationFailure, WaitQueueTimeoutError

from services.common.mongo import store_not_ready

# ConnectionFailure covers ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout.
UNREACHABLE: dict[type[Exception], str] = {
    ConnectionFailure: "the store",
    WaitQueueTimeoutError: "the store",
    KafkaConnectionError: "Kafka",
    KafkaTimeoutError: "Kafka",
    NodeNotReadyError: "Kafka",
}


# A store reached that answers it cannot serve now (services/common/mongo.py): FerretDB
# whose PostgreSQL is stopped or restarting, a full disk, a replica set electing. Any
# other OperationFailure is a bug, answered 500.
REFUSING = OperationFailure


def refusing(exc: Exception) -> bool:
    """``exc`` (a REFUSING) says the store cannot serve now, not that the request is bad."""
    return isinstance(exc, OperationFailure) and store_not_ready(exc)


def unreachable(exc: Exception) -> str:
    """What ``exc`` (one of UNREACHABLE, or a store REFUSING) says is down."""
    if refusing(exc):
        return "the store"
    return next((name for cls, name in UNREACHABLE.items() if isinstance(exc, cls)), "a service")
