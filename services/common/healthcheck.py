"""Container healthcheck for a worker: exit 0 while this host's worker of
``SERAH_SERVICE`` has written a heartbeat with assigned partitions recently."""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

from services.common.settings import CommonSettings

STALE = timedelta(seconds=20)


def main() -> int:
    settings = CommonSettings()
    service = os.environ.get("SERAH_SERVICE", "")
    client: MongoClient = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=3000, tz_aware=True)  # type: ignore[type-arg]
    try:
        db = client[settings.mongo_db]
        beat = db.worker_status.find_one({"service": service, "host": socket.gethostname()}, sort=[("at", -1)])
        # The heartbeat is stamped by the store's clock: read against the same clock.
        now: datetime = db.command("hello")["localTime"]
    finally:
        client.close()
    if beat is None:
        print(f"no heartbeat from {service} on {socket.gethostname()}", file=sys.stderr)
        return 1
    fresh = (now if now.tzinfo else now.replace(tzinfo=UTC)) - beat["at"] < STALE
    ready = beat.get("assigned_partitions", 0) > 0
    return 0 if fresh and ready else 1


if __name__ == "__main__":
    sys.exit(main())
