"""Papershelf's desktop window: the library page in a native pywebview window."""

__version__ = "0.1.0"
