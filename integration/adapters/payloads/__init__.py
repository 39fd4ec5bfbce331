"""Device payload formats → readings or rejections; pure, no I/O, never raises."""

from __future__ import annotations

from .parser import MAX_PAYLOAD_BYTES, parse_payload

__all__ = ["MAX_PAYLOAD_BYTES", "parse_payload"]
