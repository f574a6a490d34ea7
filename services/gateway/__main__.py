import uvicorn

from services.common import logs
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings

# h11 drops the connection, without an answer, on a request line and headers over
# 16 KiB; a generous limit lets an over-long query be answered with a 422 that says why.
MAX_REQUEST_HEAD_BYTES = 1024 * 1024

if __name__ == "__main__":
    settings = GatewaySettings()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=logs.gateway_config(),
        forwarded_allow_ips=settings.trusted_proxies,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD_BYTES,
    )
