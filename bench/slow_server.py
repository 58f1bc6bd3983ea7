"""100 sites that each take 300 ms, as one asyncio server in a process of its own.

An event loop answers many slow requests with little CPU, so the benchmark
measures the handler rather than a thread-per-request test server.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode()
            delay_ms = int(parse_qs(urlsplit(target).query).get("ms", ["300"])[0])
            await asyncio.sleep(delay_ms / 1000)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _main() -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_main())
