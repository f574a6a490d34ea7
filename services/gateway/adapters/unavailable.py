"""The errors the real adapters' clients raise when Kafka or the store cannot be
reached, named here so the HTTP edge can answer them without importing either
client (services/gateway/errors.py: 503 with Retry-After, never a 500)."""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError
from pymongo.errors import ConnectionFailure, WaitQueueTimeoutError

# ConnectionFailure covers ServerSelectionTimeoutError, AutoReconnect and NetworkTimeout.
UNREACHABLE: dict[type[Exception], str] = {
    ConnectionFailure: "the store",
    WaitQueueTimeoutError: "the store",
    KafkaConnectionError: "Kafka",
    KafkaTimeoutError: "Kafka",
    NodeNotReadyError: "Kafka",
}


def unreachable(exc: Exception) -> str:
    """What ``exc`` (one of UNREACHABLE) says is down."""
    return next((name for cls, name in UNREACHABLE.items() if isinstance(exc, cls)), "a service")
