"""Python clients the way real tools use the standard library, run inside a client namespace;
each prints one JSON line (ok, error, what it got).

  real_client.py pip NAME CAFILE [ADDRESS]        a pip-like fetch: the index page of a
      package (urllib, certificate verified against CAFILE), the file its link names, and the
      link's sha256 checked against the file
  real_client.py keepalive NAME CAFILE [ADDRESS]  one http.client HTTPS connection, two GETs
      on it (keep-alive), the local port of each

NAME is resolved by the namespace's resolver, or pinned to ADDRESS when given."""

import hashlib
import http.client
import json
import re
import socket
import ssl
import sys
import urllib.request

TIMEOUT_S = 5


def pin(name, address):
    resolve = socket.getaddrinfo

    def pinned(host, *args, **kwargs):
        return resolve(address if host == name else host, *args, **kwargs)
    socket.getaddrinfo = pinned


def pip(name, cafile):
    context = ssl.create_default_context(cafile=cafile)
    index_url = f"https://{name}/files/simple/sluice-demo/"
    index = urllib.request.urlopen(index_url, timeout=TIMEOUT_S, context=context).read().decode()
    href = re.search(r'href="([^"#]+)#sha256=([0-9a-f]{64})"', index)
    if not href:
        return {"ok": False, "error": "no link in the index", "body": index}
    url = urllib.request.urljoin(index_url, href.group(1))
    data = urllib.request.urlopen(url, timeout=TIMEOUT_S, context=context).read()
    ok = hashlib.sha256(data).hexdigest() == href.group(2)
    return {"ok": ok, "error": "" if ok else "sha256 mismatch", "url": url, "bytes": len(data)}


def keepalive(name, cafile):
    context = ssl.create_default_context(cafile=cafile)
    connection = http.client.HTTPSConnection(name, 443, timeout=TIMEOUT_S, context=context)
    bodies, ports = [], []
    for path in ("/", "/second"):
        connection.request("GET", path)
        response = connection.getresponse()
        bodies.append(f"{response.status} {response.read().decode().strip()}")
        ports.append(connection.sock.getsockname()[1])
    connection.close()
    return {"ok": all(b.startswith("200 ") for b in bodies), "error": "", "bodies": bodies, "ports": ports}


def main():
    mode, name, cafile = sys.argv[1:4]
    if len(sys.argv) > 4:
        pin(name, sys.argv[4])
    try:
        result = {"pip": pip, "keepalive": keepalive}[mode](name, cafile)
    except Exception as error:  # the client's failure is the result
        result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
