"""The transport alone: waitress, set up as ``papershelf serve`` sets it up (8 threads,
a 1 ms GIL switch interval), serving a WSGI app that reads the request body and answers a
fixed small JSON object.

Its round trips, taken in the same rounds as ours, show what the machine charges for an
HTTP request before any of Papershelf's code runs: on a shared machine that is often most
of a p95 of a few milliseconds.

    python -m benchlib.bare_server     (prints its port on the first line of stdout)
"""

from __future__ import annotations

import sys

from waitress.server import create_server

ANSWER = b'{"ok":true}\n'


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(ANSWER)))])
    return [ANSWER]


def main() -> None:
    sys.setswitchinterval(0.001)
    server = create_server(app, host="127.0.0.1", port=0, threads=8, ident="bare")
    print(server.effective_port, flush=True)
    server.run()


if __name__ == "__main__":
    main()
