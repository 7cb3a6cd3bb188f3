#!/usr/bin/env bash
# 14_fcgi_close.sh -- how a worker ends a FastCGI connection, seen from a client that speaks
# FastCGI on the worker socket itself and keeps its end open after the answer:
#  - a request nginx has sent in full is closed at once: the client's next write finds no
#    reader, and a client that never hangs up does not hold the worker;
#  - a request whose body the worker did not read keeps libfcgi's lingering close: the worker
#    goes on reading (and discarding) until the client hangs up, so a sender is never cut off.
. "$(dirname "$0")/../lib.sh"

SOCK=$RUN_DIR/health.sock

fcgi() { # mode: runs the client below on the health socket; prints its findings
  python3 - "$SOCK" "$1" <<'EOF'
import socket, struct, sys, time

sock_path, mode = sys.argv[1], sys.argv[2]

def record(kind, content, request_id=1):
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content

def pair(name, value):
    out = b""
    for s in (name, value):
        out += bytes([len(s)]) if len(s) < 128 else struct.pack(">I", len(s) | 0x80000000)
    return out + name + value

def request(method, content_length, body):
    params = [(b"REQUEST_METHOD", method), (b"SCRIPT_NAME", b"/api/health"),
              (b"REQUEST_URI", b"/api/health"), (b"QUERY_STRING", b""),
              (b"REMOTE_ADDR", b"127.0.0.1"), (b"CONTENT_LENGTH", str(content_length).encode())]
    if method == b"POST":
        params.append((b"CONTENT_TYPE", b"application/json"))
    data = record(1, struct.pack(">HB5x", 1, 0))                     # BEGIN_REQUEST, responder
    data += record(4, b"".join(pair(n, v) for n, v in params)) + record(4, b"")
    data += record(5, body)
    return data

def read_answer(s):
    """Reads records up to END_REQUEST; returns the status code of the answer."""
    buf, stdout = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("the worker hung up before END_REQUEST")
        buf += chunk
        while len(buf) >= 8:
            _, kind, _, length, padding = struct.unpack(">BBHHB", buf[:7])
            if len(buf) < 8 + length + padding:
                break
            content, buf = buf[8:8 + length], buf[8 + length + padding:]
            if kind == 6:
                stdout += content
            elif kind == 3:
                return stdout.split(b"\r\n", 1)[0].decode().split()[1]

def write_after_answer(s):
    """After the answer: 'refused' when the worker has closed the connection, 'accepted'
    when it still reads from it."""
    time.sleep(0.3)
    try:
        s.sendall(record(5, b"x" * 1024))
        time.sleep(0.1)
        s.sendall(record(5, b"x" * 1024))
        return "accepted"
    except (BrokenPipeError, ConnectionResetError):
        return "refused"

# Connected only when it sends at once: libfcgi gives a connection that stays silent up to 2 s
# to speak first, and health runs one worker.
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
if mode != "held-open":
    s.connect(sock_path)
if mode == "get":
    s.sendall(request(b"GET", 0, b""))
    print(read_answer(s), write_after_answer(s))
elif mode == "held-open":
    # Four GETs whose clients never hang up, then one more: it must be answered at once
    # although every health worker has answered a client that is still connected.
    held = []
    for _ in range(4):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(sock_path)
        c.sendall(request(b"GET", 0, b""))
        read_answer(c)
        held.append(c)
    t0 = time.monotonic()
    s.connect(sock_path)
    s.sendall(request(b"GET", 0, b""))
    status = read_answer(s)
    print(status, "%.0f" % ((time.monotonic() - t0) * 1000))
elif mode == "unread-body":
    # A POST to a GET-only route with 64 KiB of a 1 MiB body sent: the worker answers 405
    # without reading the body, and must keep reading until the sender stops.
    s.sendall(request(b"POST", 1 << 20, b"x" * 60000))
    print(read_answer(s), write_after_answer(s))
s.close()
EOF
}

read -r status after < <(fcgi get)
eq "a GET on the socket is answered" "$status" 200
eq "its connection is closed at once: a later write finds no reader" "$after" refused

read -r status ms < <(fcgi held-open)
eq "clients that never hang up do not hold the workers: the next GET is answered" "$status" 200
check "... within a second (a lingering close waits 2 s for each; took ${ms} ms)" [ "${ms:-9999}" -lt 1000 ]

read -r status after < <(fcgi unread-body)
eq "a POST to a GET-only route is answered 405 before its body is read" "$status" 405
eq "... and the worker keeps reading what the sender still sends" "$after" accepted

http GET /api/health
eq "health through nginx still answers 200 afterwards" "$STATUS" 200
