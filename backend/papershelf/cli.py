"""The ``papershelf`` command line: serve, token, desktop, export, import.

Commands that read or change the library go through the running server when one is up on
that data dir (one writer per library), and open the files directly otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__, security
from .config import DATA_DIR_ENV, DEFAULT_PORT, default_data_dir

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help=f"Library folder (default: ${DATA_DIR_ENV} or the platform's user data folder).")


def _data_dir(value: Path | None) -> Path:
    return (value or default_data_dir()).expanduser()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="papershelf")
def cli():
    """Papershelf: your library of Hugging Face papers, on your own machine."""


@cli.command()
@data_dir_option
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Keep the default: the library is yours alone.")
def serve(data_dir, port, host):
    """Run the local service the extension and the library page talk to."""
    from .server import AlreadyRunning, StartupError, serve as run
    try:
        run(_data_dir(data_dir), port=port, host=host,
            announce=lambda line: click.echo(line, err=line.startswith("WARNING")))
    except (AlreadyRunning, StartupError) as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@data_dir_option
@click.option("--rotate", is_flag=True,
              help="Make a new token; clients that pasted the old one must pair again.")
def token(data_dir, rotate):
    """Print the pairing code (the token) to paste into the extension's options."""
    folder = _data_dir(data_dir)
    try:
        store = security.Secrets(folder)
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the secrets in {folder}: {exc}") from None
    click.echo(store.rotate_token() if rotate else store.token)


@cli.command()
@data_dir_option
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port for the server the window starts if none is running (default: any free port).")
def desktop(data_dir, port):
    """Open the library in a desktop window."""
    try:
        from papershelf_desktop.app import run
    except ImportError as exc:  # pragma: no cover - broken install
        raise click.ClickException(f"the desktop window is not available: {exc}") from None
    sys.exit(run(_data_dir(data_dir), port))


def main():
    cli(prog_name="papershelf")


if __name__ == "__main__":
    main()
