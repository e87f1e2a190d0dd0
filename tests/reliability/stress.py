"""Long runs of the reliability suite (``scripts/stress``): many kill -9 cycles, many
concurrent clients. Prints the results table; exits 1 unless every count is zero."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reliability_harness as h  # noqa: E402


def crash(args, workdir: Path) -> h.Result:
    started = time.monotonic()

    def progress(cycle, result, model):
        if cycle % 10 == 0 or cycle == args.cycles:
            print(f"  crash cycle {cycle}/{args.cycles}: {model.acked} acknowledged, "
                  f"{model.maybe} cut short by the kill, {model.refused} refused; lost {result.lost}, "
                  f"corrupted {result.corrupted}, 5xx {result.errors_5xx}, unexpected "
                  f"{result.unexpected} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    return h.run_crash(workdir / "crash", cycles=args.cycles, clients=args.crash_clients,
                       seed=args.seed, progress=progress)


def concurrency(args, workdir: Path) -> h.Result:
    print(f"  concurrency: {args.clients} clients x {args.ops} operations ...", file=sys.stderr, flush=True)
    return h.run_concurrency(workdir / "concurrency", clients=args.clients, ops=args.ops,
                             seed=args.seed)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/stress", description=__doc__)
    parser.add_argument("what", choices=("crash", "concurrency", "all"), nargs="?", default="all")
    parser.add_argument("--cycles", type=int, default=200, help="kill -9 cycles (default 200)")
    parser.add_argument("--crash-clients", type=int, default=4,
                        help="clients working while the server is killed (default 4)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--ops", type=int, default=500, help="operations per client (default 500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the libraries and server logs")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="papershelf-stress-"))
    results = []
    try:
        if args.what in ("crash", "all"):
            results.append(crash(args, workdir))
        if args.what in ("concurrency", "all"):
            results.append(concurrency(args, workdir))
    finally:
        if args.keep:
            print(f"libraries and logs kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(h.format_table(results))
    for result in results:
        print(f"  {result.test}: {result.operations}")
    for result in results:
        for line in result.details[:40]:
            print(f"  {result.test}: {line}")
    return 0 if all(r.clean for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
