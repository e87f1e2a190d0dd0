"""The single-window lock and control channel, without a window."""

from __future__ import annotations

import pytest

from papershelf_desktop import single


def test_one_lock_holder_and_a_focus_message(tmp_path):
    first, second = single.DesktopLock(tmp_path), single.DesktopLock(tmp_path)
    assert first.try_acquire()
    assert not second.try_acquire()
    got = []
    control = single.ControlServer(tmp_path, lambda cmd, msg: got.append(cmd) or {"ok": True}).start()
    try:
        assert single.send(tmp_path, "focus") == {"ok": True}
        assert got == ["focus"]
        info = single.read_info(tmp_path)
        assert (tmp_path / single.INFO_NAME).stat().st_mode & 0o077 == 0  # owner-only
        # a wrong secret is refused
        import json
        import socket
        with socket.create_connection(("127.0.0.1", info["port"])) as conn:
            conn.sendall(json.dumps({"secret": "nope", "cmd": "close"}).encode() + b"\n")
            assert json.loads(conn.makefile().readline())["ok"] is False
        assert got == ["focus"]
    finally:
        control.stop()
        first.release()
    assert not (tmp_path / single.INFO_NAME).exists()
    assert second.try_acquire()
    second.release()
    with pytest.raises(ConnectionError):
        single.send(tmp_path, "focus", timeout=0.3)
