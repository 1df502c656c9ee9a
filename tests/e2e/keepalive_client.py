"""Python's http.client on one keep-alive connection, run inside a client namespace:

    keepalive_client.py ADDRESS PORT HOST [HOST ...]

sends `GET /` with each HOST in turn on the same connection (no reconnecting: http.client's
auto_open is off) and prints one JSON object a request: host, ok, status, body, error, errno,
local_port.
"""

import errno
import http.client
import json
import sys

TIMEOUT_S = 5


def main():
    address, port, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT_S)
    connection.connect()
    connection.auto_open = 0  # a second request must use this connection or fail
    local_port = connection.sock.getsockname()[1]
    for host in hosts:
        line = {"host": host, "ok": False, "status": 0, "body": "", "error": "", "errno": "",
                "local_port": local_port}
        try:
            connection.request("GET", "/", headers={"Host": host, "Connection": "keep-alive"})
            response = connection.getresponse()
            line["status"] = response.status
            line["body"] = response.read().decode("utf-8", "replace")
            line["ok"] = response.status == 200
        except (OSError, http.client.HTTPException) as exc:
            line["error"] = f"{type(exc).__name__}: {exc}"
            code = getattr(exc, "errno", None)
            line["errno"] = errno.errorcode.get(code, "") if code else ""
        print(json.dumps(line), flush=True)
        if not line["ok"]:
            break


if __name__ == "__main__":
    main()
