"""One logging configuration for the app, the CLI and benchmarks; secrets never reach a log."""

from __future__ import annotations

import json
import logging
import re
import sys

from engine.config import Settings

_SECRET_KEYS = re.compile(r"(pass(word)?|secret|token|api[_-]?key|cookie|authorization|hash)", re.I)
_SECRET_INLINE = re.compile(
    r"((?:pass(?:word)?|secret|token|api[_-]?key|cookie|authorization)\s*[=:]\s*)([^\s,;&]+)",
    re.I,
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_configured = False


def redact(value: str) -> str:
    """Mask anything that looks like a credential in free text."""
    value = _URL_PASSWORD.sub(r"\1***\3", value)
    return _SECRET_INLINE.sub(r"\1***", value)


class RedactingFilter(logging.Filter):
    """Masks secret-looking extras and inline `password=...` fragments in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if record.args:
            record.args = (
                tuple(redact(a) if isinstance(a, str) else a for a in record.args)
                if isinstance(record.args, tuple)
                else record.args
            )
        for key in list(record.__dict__):
            if key not in _STANDARD and _SECRET_KEYS.search(key):
                record.__dict__[key] = "***"
            elif key not in _STANDARD and isinstance(record.__dict__[key], str):
                record.__dict__[key] = redact(record.__dict__[key])
        return True


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if self.as_json:
            payload = {
                "ts": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "msg": record.getMessage(),
                **{
                    k: v if isinstance(v, (int, float, bool, type(None))) else str(v)
                    for k, v in extras.items()
                },
            }
            if record.exc_info:
                payload["exc"] = self.formatException(record.exc_info)
            return json.dumps(payload, ensure_ascii=False)
        line = super().format(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


def configure_logging(settings: Settings) -> None:
    """Install the Groundwork handler on the `engine` logger tree once per process."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(settings.logging.json_lines))
    handler.addFilter(RedactingFilter())
    for name in ("engine", "groundwork"):
        logger = logging.getLogger(name)
        logger.setLevel(settings.logging.level.upper())
        logger.addHandler(handler)
        logger.propagate = False
    # litellm logs request bodies (and sometimes keys) at debug level; keep it quiet.
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    _configured = True
