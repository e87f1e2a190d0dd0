"""``python -m papershelf_desktop [--data-dir D] [--port N]`` (same as ``papershelf desktop``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from papershelf.config import default_data_dir

    from .app import run
    parser = argparse.ArgumentParser(prog="papershelf-desktop",
                                     description="Open the Papershelf library in a desktop window.")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="library folder (default: $PAPERSHELF_DATA_DIR or the user data folder)")
    parser.add_argument("--port", type=int, default=None,
                        help="port for the server the window starts if none is running")
    args = parser.parse_args(argv)
    return run((args.data_dir or default_data_dir()).expanduser(), args.port)


if __name__ == "__main__":
    sys.exit(main())
