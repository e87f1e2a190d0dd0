"""The ``papershelf`` command line: serve, token, desktop, export, import, backup, check,
restore.

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
              help="Port for the server the window starts if none is running "
                   "(default: 27311 if free, so the extension finds it; else any free port).")
def desktop(data_dir, port):
    """Open the library in a desktop window."""
    try:
        from papershelf_desktop.app import run
    except ImportError as exc:  # pragma: no cover - broken install
        raise click.ClickException(f"the desktop window is not available: {exc}") from None
    sys.exit(run(_data_dir(data_dir), port))


# ----------------------------------------------------------------------------- library access
class LibraryAccess:
    """The running server on a data dir (over HTTP), or the library files directly.

    One writer per library: when a server has the library open, every change goes through
    it; otherwise the command holds the library's lock while it works.
    """

    def __init__(self, data_dir: Path):
        from .server import find_running
        self.data_dir = data_dir
        self.server = find_running(data_dir)
        self._backend = None

    def __enter__(self):
        if self.server is None:
            from .server import AlreadyRunning, DataDirLock, StartupError, open_library
            self._lock = DataDirLock(self.data_dir)
            try:
                self._lock.acquire()
                self.library = open_library(self.data_dir)
            except (AlreadyRunning, StartupError) as exc:
                self._lock.release()
                raise click.ClickException(str(exc)) from None
        return self

    def __exit__(self, *exc):
        if self.server is None:
            self.library.close()
            self._lock.release()

    def call(self, method: str, path: str, **kwargs):
        import requests
        token = security.Secrets(self.data_dir).token
        answer = requests.request(method, self.server["url"] + path, timeout=300,
                                  headers={"Authorization": f"Bearer {token}"}, **kwargs)
        body = answer.json()
        if not answer.ok:
            raise click.ClickException(body.get("error", f"the server answered {answer.status_code}"))
        return body


def _report_incomplete(report: dict) -> None:
    incomplete = report.get("incomplete") or []
    for item in incomplete:
        click.echo(f"incomplete: {item.get('key')}: {item.get('message')}", err=True)
    click.echo(f"exported {report.get('entries', 0)} entries"
               + (f", {len(incomplete)} incomplete" if incomplete else ""), err=True)


@cli.command("export")
@data_dir_option
@click.option("--tag", default=None, help="Only papers with this tag (or a tag below it).")
@click.option("--ids", default=None, help="Only these paper ids, comma-separated.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (atomically) instead of standard output.")
@click.option("--no-abstract", is_flag=True, help="Leave abstracts out.")
def export_command(data_dir, tag, ids, output, no_abstract):
    """Export the library (or a tag, or some papers) as BibTeX."""
    from .bibtex_export import write_atomic
    id_list = None
    if ids:
        try:
            id_list = [int(p) for p in ids.split(",") if p.strip()]
        except ValueError:
            raise click.BadParameter("paper ids separated by commas", param_hint="--ids") from None
    with LibraryAccess(_data_dir(data_dir)) as access:
        if access.server:
            params = {"abstract": "false" if no_abstract else "true"}
            if tag:
                params["tag"] = tag
            if id_list:
                params["ids"] = ",".join(map(str, id_list))
            answer = access.call("GET", "/api/export", params=params)
            text, report = answer["bibtex"], answer["report"]
        else:
            from .library import NotFound
            try:
                text, report = access.library.export_bibtex(tag=tag, ids=id_list,
                                                            abstract=not no_abstract)
            except NotFound as exc:
                raise click.ClickException(str(exc)) from None
    if output:
        write_atomic(output, text)
    else:
        click.echo(text, nl=False)
    _report_incomplete(report)


@cli.command("import")
@data_dir_option
@click.argument("bib_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(data_dir, bib_file):
    """Import a .bib file (Zotero, JabRef, arXiv, hand-written)."""
    from .bibtex_import import decode_bytes
    text = decode_bytes(bib_file.read_bytes())
    with LibraryAccess(_data_dir(data_dir)) as access:
        if access.server:
            report = access.call("POST", "/api/import", json={"bibtex": text})
        else:
            report = access.library.import_bibtex(text)
    for error in report.get("errors", []):
        where = f"line {error['line']}" if error.get("line") else "entry"
        click.echo(f"skipped {where} ({error.get('key') or 'no key'}): {error.get('message')}", err=True)
    for change in report.get("key_changes", []):
        click.echo(f"key {change['key']} kept as {change['now']}: {change['message']}", err=True)
    click.echo(f"created {report['created']}, merged {report['merged']}, "
               f"possible duplicates {report['possible_duplicates']}, "
               f"skipped {len(report.get('errors', []))}")


@cli.group("auto-export")
def auto_export():
    """Keep .bib files in step with the library (needs the server running)."""


def _running_access(data_dir) -> LibraryAccess:
    access = LibraryAccess(_data_dir(data_dir))
    if not access.server:
        raise click.ClickException("auto-export works while the server runs: start `papershelf serve` "
                                   "(or the desktop window) first")
    return access


@auto_export.command("add")
@data_dir_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tag", default=None, help="Only papers with this tag.")
def auto_export_add(data_dir, path, tag):
    """Write PATH now and after every change."""
    answer = _running_access(data_dir).call("POST", "/api/auto-exports",
                                            json={"path": str(path.expanduser().resolve()), "tag": tag})
    click.echo(f"auto-export {answer['id']}: {answer['path']}" + (f" (tag {tag})" if tag else ""))


@auto_export.command("list")
@data_dir_option
def auto_export_list(data_dir):
    """Show the bound files."""
    for row in _running_access(data_dir).call("GET", "/api/auto-exports")["auto_exports"]:
        line = f"{row['id']}\t{row['path']}" + (f"\ttag {row['tag']}" if row.get("tag") else "")
        click.echo(line + (f"\tERROR {row['error']}" if row.get("error") else ""))


@auto_export.command("remove")
@data_dir_option
@click.argument("export_id", type=int)
def auto_export_remove(data_dir, export_id):
    """Stop updating a bound file (the file stays)."""
    _running_access(data_dir).call("DELETE", f"/api/auto-exports/{export_id}")
    click.echo(f"removed auto-export {export_id}")


# ----------------------------------------------------------------------------- safety
def _held_lock(folder: Path, reading: bool = False):
    """The library's lock, for a command that works on the files while no server runs.
    ``reading``: a folder no one can write to (a read-only disk) needs no lock."""
    import errno

    from .server import AlreadyRunning, DataDirLock
    lock = DataDirLock(folder)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        if reading and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return lock  # not held; release() does nothing
        raise click.ClickException(f"cannot use the library folder {folder}: {exc}") from None
    return lock


def _fetch_backup(folder: Path, server: dict) -> bytes:
    """A consistent copy of the library from the server that has it open."""
    import requests
    token = security.Secrets(folder).token
    try:
        answer = requests.get(server["url"] + "/api/backup", timeout=600,
                              headers={"Authorization": f"Bearer {token}"})
    except requests.RequestException as exc:
        raise click.ClickException(f"the server at {server['url']} did not send the backup: {exc}") from None
    if not answer.ok:
        try:
            message = answer.json().get("error")
        except ValueError:
            message = None
        raise click.ClickException(message or f"the server answered {answer.status_code}")
    return answer.content


@cli.command()
@data_dir_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The backup file to write (default: papershelf-backup-<time>.json here).")
def backup(data_dir, output):
    """Write a consistent copy of the library to one file (the server may be running)."""
    from . import maintenance
    from .server import find_running
    folder = _data_dir(data_dir)
    output = output or Path(maintenance.default_backup_name())
    server = find_running(folder)
    warnings: list[str] = []
    try:
        if server:
            payload = _fetch_backup(folder, server)
        else:
            lock = _held_lock(folder, reading=True)
            try:
                payload, warnings = maintenance.backup_from_files(folder)
            finally:
                lock.release()
        tables = maintenance.parse_backup(payload)
        maintenance.write_backup(output, payload)
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    for warning in warnings:
        click.echo(f"WARNING: {warning}", err=True)
    papers = tables.get("papers", {})
    click.echo(f"backup of {len(papers)} papers written to {output}")


@cli.command()
@data_dir_option
@click.option("--repair", is_flag=True,
              help="Fix what can be fixed (the library is copied aside first). "
                   "The server must be stopped.")
def check(data_dir, repair):
    """Verify the library: files, checksums, records, ids, keys, tags. Exit code 1 if
    problems remain."""
    from . import maintenance
    from .server import find_running
    folder = _data_dir(data_dir)
    server = find_running(folder)
    if server and repair:
        raise click.ClickException(
            f"the server at {server['url']} (pid {server['pid']}) has the library open; stop it "
            "first, then run `papershelf check --repair`")
    if server:
        try:
            tables = maintenance.parse_backup(_fetch_backup(folder, server))
        except maintenance.MaintenanceError as exc:
            raise click.ClickException(str(exc)) from None
        report = maintenance.check_library(folder, tables=tables, server_running=True)
    elif repair:
        lock = _held_lock(folder)
        try:
            report = maintenance.repair_library(folder)
        finally:
            lock.release()
    else:
        report = maintenance.check_library(folder)
    for line in report.repaired:
        click.echo(f"repaired: {line}")
    if report.kept_in:
        click.echo(f"the library as it was before the repair is kept in {report.kept_in}")
    for note in report.notes:
        click.echo(f"note: {note}")
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    counts = f"{report.papers} paper{'' if report.papers == 1 else 's'}, {report.trash} in the trash"
    if report.ok:
        click.echo(f"library OK: {counts}")
        return
    hint = "" if repair else (" Run `papershelf check --repair` (with the server stopped) to fix "
                              "what can be fixed.")
    click.echo(f"{len(report.problems)} problem(s) in the library ({counts}).{hint}", err=True)
    sys.exit(1)


@cli.command()
@data_dir_option
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(data_dir, backup_file):
    """Replace the library with a backup (the server must be stopped). The current
    library is moved aside, not deleted."""
    from . import maintenance
    from .server import find_running
    folder = _data_dir(data_dir)
    server = find_running(folder)
    if server:
        raise click.ClickException(
            f"the server at {server['url']} (pid {server['pid']}) has the library open; stop it "
            "first, then restore")
    payload = backup_file.read_bytes()
    lock = _held_lock(folder)
    try:
        report = maintenance.restore_library(folder, payload, str(backup_file))
    except maintenance.MaintenanceError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        lock.release()
    if report.kept_in:
        click.echo(f"the library as it was is kept in {report.kept_in}")
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    click.echo(f"restored {report.papers} papers and {report.trash} in the trash from {backup_file}")
    if report.problems:
        click.echo("Run `papershelf check --repair` to fix the problems above.", err=True)


def main():
    cli(prog_name="papershelf")


if __name__ == "__main__":
    main()
