"""smart-bedroom: a cool, stable bedroom and an honest account of each night, beside Home Assistant."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
