"""The papershelf command line, run as a user runs it."""

import os
import stat
import subprocess
import sys

import requests

import papershelf
from server_process import ServerProcess, free_port


def papershelf_cmd(*args, timeout=30, **kwargs):
    return subprocess.run([sys.executable, "-m", "papershelf", *args], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def test_version_and_help():
    assert papershelf.__version__ in papershelf_cmd("--version").stdout
    out = papershelf_cmd("--help").stdout
    for command in ("serve", "token", "desktop"):
        assert command in out


def test_token_is_stable_private_and_rotatable(data_dir):
    first = papershelf_cmd("token", "--data-dir", str(data_dir)).stdout.strip()
    assert first.startswith("ps_") and len(first) > 30
    assert papershelf_cmd("token", "--data-dir", str(data_dir)).stdout.strip() == first
    mode = stat.S_IMODE(os.stat(data_dir / "secrets.json").st_mode)
    assert mode == 0o600
    rotated = papershelf_cmd("token", "--rotate", "--data-dir", str(data_dir)).stdout.strip()
    assert rotated != first and rotated.startswith("ps_")


def test_data_dir_from_environment(tmp_path):
    folder = tmp_path / "from-env"
    out = papershelf_cmd("token", env={**os.environ, "PAPERSHELF_DATA_DIR": str(folder)})
    assert out.returncode == 0 and (folder / "secrets.json").exists()


def test_serve_prints_its_address_and_refuses_a_second_instance(data_dir):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "papershelf", "serve", "--port", str(port),
                             "--data-dir", str(data_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        assert requests.get(f"http://127.0.0.1:{port}/api/ping", timeout=5).json()["app"] == "papershelf"
        second = papershelf_cmd("serve", "--port", str(free_port()), "--data-dir", str(data_dir))
        assert second.returncode != 0
        assert "already using the library" in second.stderr and str(port) in second.stderr
    finally:
        proc.terminate()
        proc.wait(10)
    assert not (data_dir / "server.json").exists(), "a clean stop removes server.json"


def test_serve_says_clearly_when_the_port_is_taken(tmp_path):
    running = ServerProcess(tmp_path / "one").start()
    try:
        out = papershelf_cmd("serve", "--port", str(running.port), "--data-dir", str(tmp_path / "two"))
        assert out.returncode != 0
        assert f"port {running.port}" in out.stderr and "already in use" in out.stderr
    finally:
        running.stop()


def test_serve_refuses_a_read_only_data_dir(tmp_path):
    if os.geteuid() == 0:
        # root writes anywhere; a file standing where the folder should be fails for everyone.
        blocked = tmp_path / "blocked"
        blocked.write_text("not a folder")
        out = papershelf_cmd("serve", "--port", str(free_port()), "--data-dir", str(blocked / "lib"))
    else:
        blocked = tmp_path / "ro"
        blocked.mkdir()
        blocked.chmod(0o500)
        out = papershelf_cmd("serve", "--port", str(free_port()), "--data-dir", str(blocked))
    assert out.returncode != 0
    assert "Error:" in out.stderr and "Traceback" not in out.stderr
