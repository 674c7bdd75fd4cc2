"""The configuration Convene writes for its child Janus, and what the running child exposes."""

from __future__ import annotations

from pathlib import Path

from convene.config import JanusSettings
from convene.media.janus import JanusSFU, write_config
from tests.support.janus import janus_settings, new_secrets

SAMPLE_SECRETS = ("janusoverlord", "adminpwd", "supersecret", "janusrocks")


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.iterdir()) if p.suffix == ".jcfg")


def test_config_has_only_our_secrets_and_loopback_apis(tmp_path: Path) -> None:
    secrets = new_secrets()
    config = write_config(tmp_path / "janus", janus_settings(), secrets, session_timeout=30)

    names = sorted(p.name for p in config.folder.iterdir())
    assert names == [
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.websockets.jcfg",
    ]
    text = _all_text(config.folder)
    for sample in SAMPLE_SECRETS:
        assert sample not in text
    assert "room-" not in text  # no static (demo) rooms
    assert f'api_secret = "{secrets.janus_api_secret}"' in text
    assert f'admin_secret = "{secrets.janus_admin_secret}"' in text
    assert f'admin_key = "{secrets.janus_admin_key}"' in text
    assert "session_timeout = 30" in text

    ws = (config.folder / "janus.transport.websockets.jcfg").read_text()
    assert 'ws_ip = "127.0.0.1"' in ws
    assert 'admin_ws_ip = "127.0.0.1"' in ws
    assert 'ws_acl = "127.0.0.1"' in ws
    assert "wss = false" in ws
    assert "admin_wss = false" in ws
    assert f"ws_port = {config.ws_port}" in ws
    assert config.ws_port != config.admin_port

    core = (config.folder / "janus.jcfg").read_text()
    # Every plugin and transport but VideoRoom and WebSockets stays unloaded.
    for name in ("libjanus_streaming.so", "libjanus_http.so", "libjanus_nanomsg.so"):
        assert name in core
    assert "libjanus_videoroom.so" not in core
    assert "libjanus_websockets.so" not in core
    for path in config.folder.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path  # files hold secrets


def test_config_media_addresses(tmp_path: Path) -> None:
    settings = janus_settings(
        interface="127.0.0.2",
        ignore_mdns=True,
        nat_1_1_mapping="203.0.113.7",
        stun_server="stun.example.org:3479",
        turn_server="turn.example.org",
        turn_user="u",
        turn_password="p",
        rtp_port_range="30000-30100",
        event_loops=2,
    )
    core = (write_config(tmp_path, settings, new_secrets()).folder / "janus.jcfg").read_text()
    assert 'ice_enforce_list = "127.0.0.2"' in core
    assert "ignore_mdns = true" in core
    assert 'nat_1_1_mapping = "203.0.113.7"' in core
    assert 'stun_server = "stun.example.org"' in core
    assert "stun_port = 3479" in core
    assert 'turn_server = "turn.example.org"' in core
    assert "turn_port = 3478" in core
    assert 'turn_pwd = "p"' in core
    assert 'rtp_port_range = "30000-30100"' in core
    assert "event_loops = 2" in core


def _listening(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp) with a socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.add(address)
    return found


async def test_child_listens_on_loopback_only(janus_sfu: JanusSFU) -> None:
    assert janus_sfu.process is not None
    config = janus_sfu.process.config
    assert _listening(config.ws_port) == {"0100007F"}  # 127.0.0.1
    assert _listening(config.admin_port) == {"0100007F"}
    assert janus_sfu.healthy()


def test_settings_default_is_child_mode() -> None:
    assert JanusSettings().mode == "child"
