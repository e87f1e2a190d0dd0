"""The Papershelf benchmark (``scripts/bench``): synthetic libraries of 1k–50k papers,
the real backend over HTTP, the extension and the library page in real Chromium, each
figure beside a floor and a naive design measured in the same run on the same data.

Modules:
    data      deterministic synthetic cards, probes and queries (no backend code)
    worker    runs in a child process with the chosen backend first on ``PYTHONPATH``:
              builds a library through the backend's Python API, checks duplicates
    server    a backend process: start, stop, cold start, peak RSS, keep-alive HTTP
    figures   the HTTP figures with their floors and naive references
    browser   the extension and the library page in Chromium
    report    the table and the machine description
    cli       the command line (``python -m benchlib``)
"""
