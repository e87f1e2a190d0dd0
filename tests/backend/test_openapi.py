"""The OpenAPI file describes every route the server has, and nothing it lacks."""

import re
from pathlib import Path

import yaml

import papershelf
from papershelf.app import create_app
from papershelf.library import Library

SPEC = Path(papershelf.__file__).with_name("openapi.yaml")


def spec_operations() -> set[tuple[str, str]]:
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["openapi"].startswith("3.")
    ops = set()
    for path, item in spec["paths"].items():
        for method in item:
            if method in ("get", "post", "patch", "put", "delete"):
                ops.add((method.upper(), re.sub(r"\{[^}]+\}", "{}", path)))
    return ops


def app_operations(tmp_path) -> set[tuple[str, str]]:
    app = create_app(Library(tmp_path / "library"), tmp_path, 27311)
    ops = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            ops.add((method, path))
    return ops


def test_every_api_route_is_documented_and_every_documented_route_exists(tmp_path):
    documented, served = spec_operations(), app_operations(tmp_path)
    assert served - documented == set(), "routes missing from openapi.yaml"
    assert documented - served == set(), "openapi.yaml documents routes the server lacks"
