#!/usr/bin/env python3
"""A TCP relay: 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT.

test-etcd.sh puts it between one node and etcd: killing it cuts that
node off (its connections close) while the other node still reaches
etcd; starting it again on the same port gives the link back.
"""
import asyncio
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def relay(target, client_r, client_w):
    try:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(pipe(client_r, up_w), pipe(up_r, client_w))


async def main(listen, target):
    server = await asyncio.start_server(
        lambda r, w: relay(target, r, w), "127.0.0.1", listen,
        reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
