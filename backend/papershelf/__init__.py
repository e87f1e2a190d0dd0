"""Papershelf: a local-first paper library for Hugging Face paper listings."""

__version__ = "0.1.0"
APP_NAME = "papershelf"
API_VERSION = 1
