"""What every process's log may say, and how it is configured.

No log line carries a secret: request bodies and commands are never logged, and
every handler runs ``RedactSecrets``, which blanks what would let a reader of the
log act as someone else should it get in anyway (an exception quoting a command,
a URL in an error):

- a label's signature, the last segment of ``/L/<asset>/<generation+key>/<signature>``:
  a log of label URLs would be a kit for printing genuine labels. The gateway's access
  log keeps every path with the signature blanked, so what was opened stays visible;
- the value of a field named like a secret (``receipt_code``, ``password``,
  ``*_token``, ``*secret``, ``*signing_key(s)``, ``authorization``, ``signature``)
  written as ``name=value``, ``name: value`` or a quoted key of a dict or JSON
  object, and the ``input_value`` pydantic quotes in an error about such a field."""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

# A label path's last segment, after an asset id and a generation+key id of letters and
# digits in either case (base32 says the same in lower case); a path that is no label
# (a traversal, a broken escape) stays as it came, for whoever investigates it.
_SEGMENT = r"[^/?#\s\"'<>]+"
_LABEL_PATH = re.compile(rf"(/[Ll]/[A-Za-z0-9]+/[A-Za-z0-9]+/){_SEGMENT}")
_SECRET_NAME = (
    r"(?:receipt_code|password|passwd|(?:\w+_)?token|(?:\w+_)?secret|(?:\w+_)?signing_keys?"
    r"|authorization|signature)"
)
# 'name': 'value' · "name": "value" · name='value'  (a dict, JSON, keyword arguments)
_QUOTED = re.compile(rf"""(?i)(["']?\b{_SECRET_NAME}\b["']?\s*[:=]\s*)(["'])(?:\\.|(?!\2).)*\2""")
# name=value · name: value  (a query string, a form, a header)
_BARE = re.compile(rf"""(?i)(\b{_SECRET_NAME}\b\s*[:=]\s*)(?:bearer\s+|basic\s+)?[^\s&,;"'}}\]]+""")
# pydantic: the field's location on one line, the error quoting the value on the next
_PYDANTIC = re.compile(rf"""(?im)(^[\w.\[\]]*\b{_SECRET_NAME}\b\n[^\n]*?input_value=).*?(?=, input_type=|\]$)""")


def redact(text: str) -> str:
    text = _LABEL_PATH.sub(rf"\g<1>{REDACTED}", text)
    text = _PYDANTIC.sub(rf"\g<1>{REDACTED}", text)
    text = _QUOTED.sub(rf"\g<1>\g<2>{REDACTED}\g<2>", text)
    return _BARE.sub(rf"\g<1>{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """Blanks secrets in a record's message and exception before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            # uvicorn's access formatter unpacks (client, method, path, http version, status)
            client, method, path, version, status = record.args
            record.args = (client, method, redact(str(path)), version, status)
        else:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


FILTERS = {"redact": {"()": RedactSecrets}}
WORKER_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def worker_config(level: str = "INFO") -> dict[str, Any]:
    """A worker's logging: every record to stderr, secrets redacted."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": FILTERS,
        "formatters": {"default": {"format": WORKER_FORMAT}},
        "handlers": {
            "default": {"class": "logging.StreamHandler", "formatter": "default", "filters": ["redact"]},
        },
        "root": {"level": level, "handlers": ["default"]},
    }


def gateway_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's own logging as it comes (its formats, the access log on stdout), the
    gateway's own loggers named beside it and other libraries' warnings, secrets
    redacted everywhere."""

    def stream(formatter: str, to: str) -> dict[str, Any]:
        return {"class": "logging.StreamHandler", "formatter": formatter, "stream": to, "filters": ["redact"]}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": FILTERS,
        "formatters": {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "named": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(name)s: %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
            },
        },
        "handlers": {
            "default": stream("default", "ext://sys.stderr"),
            "named": stream("named", "ext://sys.stderr"),
            "access": stream("access", "ext://sys.stdout"),
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["access"], "level": level, "propagate": False},
            "services": {"level": level},
        },
        # The Kafka and MongoDB clients' chatter (every connection) only when something is wrong.
        "root": {"level": "WARNING", "handlers": ["named"]},
    }
