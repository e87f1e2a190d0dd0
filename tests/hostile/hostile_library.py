"""A library worth attacking, and a way to tell whether anything in it changed."""

from __future__ import annotations

import secrets

import requests

from server_process import ServerProcess


class Target:
    """A running backend with a seeded library, seen through the owner's token."""

    def __init__(self, server: ServerProcess, tmp_dir):
        self.server = server
        self.url = server.url
        self.port = server.port
        self.token = server.token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.canary = f"Canary paper {secrets.token_hex(6)}"
        self.tag = f"canary-{secrets.token_hex(3)}"
        self.export_path = str(tmp_dir / "stolen.bib")
        self.ids: dict[str, int] = {}

    def api(self, method: str, path: str, **kw):
        answer = self.http.request(method, self.url + path, timeout=30, **kw)
        answer.raise_for_status()
        return answer.json()

    def seed(self) -> "Target":
        cards = [
            {"title": self.canary, "arxiv_id": "2601.00042", "abstract": "Secret reading list.",
             "authors": ["Ada Owner"], "tags": [self.tag, "To read"]},
            {"title": "A second paper on the shelf", "arxiv_id": "2601.00043", "authors": ["Bo Owner"]},
            {"title": "A paper in the trash", "arxiv_id": "2601.00044", "authors": ["Cy Owner"]},
        ]
        saved = self.api("POST", "/api/papers", json={"papers": cards})["results"]
        self.ids = {"paper": saved[0]["paper"]["id"], "second": saved[1]["paper"]["id"],
                    "trashed": saved[2]["paper"]["id"]}
        self.undo = self.api("DELETE", f"/api/papers/{self.ids['trashed']}")["undo"]
        # A pairing request some local program made (no auth needed to ask): a web page
        # must not be able to approve it in the user's name.
        answer = requests.post(self.url + "/api/pair/requests", json={"client": "Unknown program"}, timeout=10)
        answer.raise_for_status()
        self.pair_request = answer.json()["request_id"]
        return self

    def session_cookie(self) -> str:
        """The library page's session cookie, as loading the page hands it out."""
        if not getattr(self, "_session", None):
            answer = requests.get(self.url + "/", timeout=10)
            self._session = answer.cookies.get("papershelf_session")
        return self._session

    def secrets_for_page(self) -> dict:
        """What the attack page is told (ids an attacker could guess; no secret at all)."""
        return {"canary": self.canary, "tag": self.tag, "paper_id": self.ids["paper"],
                "trashed_id": self.ids["trashed"], "undo_id": self.undo,
                "pair_request_id": self.pair_request, "export_path": self.export_path,
                "mark": secrets.token_hex(4)}

    def secret_strings(self) -> list[str]:
        """Strings that must never reach a hostile page."""
        return [self.canary, self.tag, self.token, self.session_cookie(), "Secret reading list"]

    def snapshot(self) -> dict:
        """Everything a request could have changed, as the owner sees it."""
        papers = (self.api("GET", "/api/papers", params={"limit": 500})["papers"]
                  + self.api("GET", "/api/papers", params={"limit": 500, "trash": "true"})["papers"])
        return {
            "papers": sorted(papers, key=lambda p: p["id"]),
            "tags": self.api("GET", "/api/tags")["tags"],
            "clients": self.api("GET", "/api/clients")["clients"],
            "pair_requests": self.api("GET", "/api/pair/requests")["requests"],
            "duplicates": self.api("GET", "/api/duplicates")["pairs"],
            "auto_exports": self.api("GET", "/api/auto-exports")["auto_exports"],
        }


def differences(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots, one line per changed paper or part."""
    out = []
    old = {p["id"]: p for p in before["papers"]}
    new = {p["id"]: p for p in after["papers"]}
    for pid in sorted(set(old) | set(new)):
        if old.get(pid) != new.get(pid):
            out.append(f"paper {pid}: {'added' if pid not in old else 'removed' if pid not in new else 'changed'}")
    for part in ("tags", "clients", "pair_requests", "duplicates", "auto_exports"):
        if before[part] != after[part]:
            out.append(f"{part} changed")
    return out
