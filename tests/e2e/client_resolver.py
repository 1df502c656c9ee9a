"""A client namespace's own resolv.conf: `ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf
over /etc/resolv.conf, so clients that resolve by the system (Chromium, git, python) ask the
rig's dnsmasq, and the DNS answer crosses sluiced as it would in a deployment. The directory is
named from the rig's prefix and removed on exit."""

import shutil
from pathlib import Path

import rig


class ClientResolver:
    def __init__(self, client, nameserver=rig.RESOLVER4):
        self.dir = Path("/etc/netns") / rig.CLIENTS[client].ns
        self.nameserver = nameserver

    def __enter__(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "resolv.conf").write_text(f"nameserver {self.nameserver}\noptions timeout:1 attempts:2\n")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)
