"""`kill -9` of sluiced while clients are busy, then a restart: the denial log holds whole
records only (a torn last line is cut off at start), and the restarted appliance enforces and
records again."""

import json
import os
import signal
import subprocess
import time

import clients
import rig
import services
from conftest import Mark, client_ip

LOOP = """
while :; do
  curl -s -o /dev/null --max-time 1 --cacert {ca} --resolve {evil}:443:{web} https://{evil}/
  curl -s -o /dev/null --max-time 1 --resolve {evil}:80:{web} http://{evil}/
  curl -s -o /dev/null --max-time 1 --cacert {ca} --resolve {www}:443:{web} https://{www}/
done
"""


TORN = b'{"event_time":"2026-01-01T00:00:00.000Z","access_type":"DR'


def start_loop(client, cafile):
    script = LOOP.format(ca=cafile, evil=services.EVIL, www=services.WWW, web=rig.WEB4)
    # Its own process group, so that the loop and its current curl end together.
    return subprocess.Popen(rig.in_ns(rig.CLIENTS[client].ns, "bash", "-c", script),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_loop(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def parse_all(path):
    text = path.read_bytes()
    assert text.endswith(b"\n"), f"{path} ends inside a record: {text[-200:]!r}"
    return [json.loads(line) for line in text.decode().splitlines()]


def test_kill9_mid_traffic_leaves_whole_records(sluice, cafile):
    loops = [start_loop("c1", cafile), start_loop("c2", cafile)]
    try:
        before = len(sluice.denials())
        time.sleep(2.0)
        assert len(sluice.denials()) > before + 4, "the loops produce no denials"
        sluice.kill9()
        whole = sluice.denials_path.read_bytes()
        torn_by_kill = not whole.endswith(b"\n")
        if not torn_by_kill:
            # The kill rarely lands inside a write; make sure the repair is exercised anyway
            # with the tail a write cut short would leave.
            with open(sluice.denials_path, "ab") as log:
                log.write(TORN)
        time.sleep(0.5)   # clients keep trying against a dead bridge
        sluice.start()
        mark = Mark(sluice)
        time.sleep(2.0)
    finally:
        for loop in loops:
            stop_loop(loop)

    # The restart cut the torn tail off and said so; every line parses.
    assert f"{sluice.denials_path}: cut " in sluice.stderr(), sluice.describe()
    if not torn_by_kill:
        assert f": cut {len(TORN)} bytes" in sluice.stderr(), sluice.describe()
    records = parse_all(sluice.denials_path)
    assert len(records) > before
    for record in records:
        assert record["access_type"] in ("DROP", "DRY_RUN_DENIAL"), record
    after_restart = records[mark.denials:]
    sources = {r["src_ip"] for r in after_restart}
    assert {client_ip("c1", 4), client_ip("c2", 4)} <= sources, after_restart[:5]
    # Enforcement resumed: a denied name is reset at once again, an allowed one served.
    denied = clients.curl("c1", services.EVIL, cafile=cafile)
    assert not denied.ok and denied.elapsed < 1.0 and clients.saw_reset(denied), denied.describe()
    assert clients.curl("c1", services.WWW, cafile=cafile).ok
