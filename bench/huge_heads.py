"""A site whose every response has a 6 MB head: 99 header lines of 64 KB, what http.client alone allows.

Run as a process of its own (``python -m bench.huge_heads``); prints its URL.
Before the head was capped, 128 checks of it held 1.5 GB at once.
"""

from __future__ import annotations

import socket
import threading

HEAD = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 64_000) for i in range(99)) + b"\r\n"


def _answer(connection: socket.socket) -> None:
    try:
        connection.recv(65536)
        connection.sendall(HEAD)
    except OSError:
        pass  # the client stopped reading at its cap and closed: the point of the benchmark
    finally:
        connection.close()


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=_answer, args=(connection,), daemon=True).start()


if __name__ == "__main__":
    main()
