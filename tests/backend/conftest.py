"""Fixtures of the backend tests: one real server per module, or a fresh one per test."""

from __future__ import annotations

import pytest

from api_client import Api, start_server

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server per test module (an empty library at the start of the module)."""
    srv = start_server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(server) -> Api:
    return Api(server, server.api_token)


@pytest.fixture()
def fresh_server(tmp_path):
    """A server of its own, for a test that needs an empty library or counts everything."""
    srv = start_server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture()
def fresh_api(fresh_server) -> Api:
    return Api(fresh_server, fresh_server.api_token)
