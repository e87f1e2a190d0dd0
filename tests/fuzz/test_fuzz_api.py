"""Every operation of openapi.yaml, fuzzed with schemathesis against a real server.

For each operation: schemathesis's positive data (what the spec allows) and negative data
(what it forbids), plus raw hostile JSON bodies for the operations that take one. Every
answer must be no 5xx, pass the guard, match the spec (status code, content type, JSON
schema of the body), and a refused request must leave the library untouched (see
api_fuzzer.py). Afterwards the server is still running, its log has no traceback, its
status has no warnings, and a restart loads the same library.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

import papershelf
from api_client import start_server

from .api_fuzzer import Fuzzer, accepted
from .fuzzing import TALLY, ServerCrash, fuzz_settings
from .payloads import bodies

SPEC_PATH = Path(papershelf.__file__).with_name("openapi.yaml")
SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMA = schemathesis.openapi.from_path(SPEC_PATH)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
METHODS = ("get", "post", "put", "patch", "delete")


def _definition(label: str) -> dict:
    method, path = label.split(" ", 1)
    return SPEC["paths"][path][method.lower()]


def _has_input(label: str) -> bool:
    """Negative data needs something to break: a parameter or a body."""
    path = label.split(" ", 1)[1]
    definition = _definition(label)
    return bool(definition.get("parameters") or SPEC["paths"][path].get("parameters")
                or definition.get("requestBody"))


def _order(label: str) -> tuple:
    """Operations that make things (papers, tags, undo records, pairing requests,
    auto-exports) before those that use them up."""
    method, path = label.split(" ", 1)
    rank = {"POST": 0, "PATCH": 1, "GET": 2, "DELETE": 3}[method]
    return (4 if "/undo/" in path else rank, path)


RUNS = [(label, mode) for label in sorted(OPERATIONS, key=_order)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if mode is GenerationMode.POSITIVE or _has_input(label)]
BODY_OPERATIONS = sorted(label for label in OPERATIONS if _definition(label).get("requestBody"))


def test_every_operation_of_the_spec_is_fuzzed():
    documented = {f"{method.upper()} {path}" for path, item in SPEC["paths"].items()
                  for method in item if method in METHODS}
    assert documented == set(OPERATIONS)
    assert {label for label, _ in RUNS} == documented


@pytest.fixture(scope="module")
def fuzzer(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fuzz-api")
    home = workdir / "home"
    home.mkdir()
    # A small snapshot interval, so that snapshots and journal trimming happen under fuzz.
    server = start_server(workdir, extra_env={"HOME": str(home),
                                              "PAPERSHELF_SNAPSHOT_EVERY": "25"})
    try:
        yield Fuzzer(server, home / "exports")
    finally:
        server.stop()


def no_new_tracebacks(fuzzer, target: str, since: int) -> None:
    """The server logged no traceback while ``target`` ran (e.g. in a background thread)."""
    problems = fuzzer.server_log_problems(since)
    if problems:
        TALLY.add(target, "crashes", len(problems))
        raise ServerCrash(fuzzer.server.log()[since:][-5000:])


def _validate(case, response) -> None:
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseExceptionGroup as group:  # schemathesis's FailureGroup
        problems = "\n\n".join(str(e) for e in group.exceptions)
        raise AssertionError(f"{problems}\n\nReproduce: {case.as_curl_command()}") from None


@pytest.mark.parametrize("label, mode", RUNS, ids=[f"{label} {mode.value}" for label, mode in RUNS])
def test_operation(fuzzer, label, mode):
    operation = OPERATIONS[label]
    positive = mode is GenerationMode.POSITIVE
    target = f"api {label} ({mode.value})"

    log_start = fuzzer.log_size()

    @fuzz_settings(5, 50)
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        with TALLY.example(target):
            response = fuzzer.send_case(case, data, positive)
            if accepted(response):
                TALLY.add(target, "2xx")
            _validate(case, response)

    run()
    no_new_tracebacks(fuzzer, target, log_start)


@pytest.mark.parametrize("label", BODY_OPERATIONS)
def test_hostile_json_bodies(fuzzer, label):
    """Bodies no generator from the spec would write: lone surrogates, NaN, 2**70, field
    names of other endpoints, nesting, wrong shapes. 4xx with an error naming a field."""
    method, path = label.split(" ", 1)
    target = f"api {label} (hostile JSON)"

    log_start = fuzzer.log_size()

    @fuzz_settings(4, 50)
    @given(body=bodies, data=st.data())
    def run(body, data):
        with TALLY.example(target):
            response = fuzzer.send_json(method, path, body, data)
            assert response.headers["Content-Type"].startswith("application/json")
            if response.ok:
                TALLY.add(target, "2xx")
            else:
                answer = response.json()
                assert set(answer) >= {"error", "field"} and answer["error"], answer

    run()
    no_new_tracebacks(fuzzer, target, log_start)


def test_zz_afterwards_the_server_runs_and_the_library_loads(fuzzer):
    """Runs last in the module: after all the fuzzing the server is alive, said nothing
    alarming, and a restart loads the same library without warnings."""
    with TALLY.example("api server after fuzzing"):
        server = fuzzer.server
        if server.proc is None or server.proc.poll() is not None:
            raise ServerCrash("the server is gone:\n" + server.log()[-3000:])
        assert fuzzer.server_log_problems() == []
        status = fuzzer.call("GET", "/api/status").json()
        assert status["warnings"] == [], status
        before = everything(fuzzer)
        assert before["papers"], "the fuzzing left no papers to compare"
        server.stop()
        server.start()
        status = fuzzer.call("GET", "/api/status").json()
        assert status["warnings"] == [] and status["data_dir"] == str(server.data_dir)
        assert everything(fuzzer) == before
        assert fuzzer.call("POST", "/api/papers", json={"title": "Still taking papers"}).ok


def everything(fuzzer) -> dict:
    def papers(**params):
        found, offset = [], 0
        while True:
            page = fuzzer.call("GET", "/api/papers", params={"limit": 500, "offset": offset,
                                                             **params}).json()
            found += page["papers"]
            offset += 500
            if offset >= page["total"]:
                return sorted(found, key=lambda p: p["id"])
    return {"papers": papers(), "trash": papers(trash="true"),
            "tags": fuzzer.call("GET", "/api/tags").json(),
            "duplicates": fuzzer.call("GET", "/api/duplicates").json(),
            "auto_exports": [{k: v for k, v in row.items() if k != "error"} for row in
                             fuzzer.call("GET", "/api/auto-exports").json()["auto_exports"]],
            "clients": [{k: v for k, v in c.items() if k != "last_seen"} for c in
                        fuzzer.call("GET", "/api/clients").json()["clients"]]}
