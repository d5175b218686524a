"""The WebSocket golden conversation: a `websockets` server and client on loopback.

    python3 conversation.py serve PORT                 # the server (permessage-deflate offered)
    python3 conversation.py talk PORT deflate|plain    # one connection, with or without deflate

The client sends text, binary, a Ping (answered by the library's Pong) and asks for replies; with
"plain" it also gets a text message in three fragments with a Ping between them, and the server
closes with 1008. With "deflate" the client closes with 1000 (no fragments: tshark 4.0, the
oracle, cannot inflate fragmented messages).
"""
import asyncio
import sys

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def handler(ws):
    try:
        async for message in ws:
            if message == '{"op":"subscribe","channel":"golden"}':
                await ws.send('{"op":"subscribed","channel":"golden","id":1}')
            elif isinstance(message, bytes):
                await ws.send(bytes((i * 7) & 0xFF for i in range(300)))
            elif message == "more please":
                await ws.send("golden websocket line " * 20)
            elif message == "fragments please":
                # One text message in three frames with a Ping between them (RFC 6455 section
                # 5.4), through the sans-I/O protocol: send() would end with an empty frame,
                # whose reassembly tshark 4.0 does not show.
                ws.protocol.send_text("frag".encode(), fin=False)
                ws.protocol.send_continuation("mented ".encode(), fin=False)
                ws.protocol.send_ping(b"between fragments")
                ws.protocol.send_continuation("text ✓".encode(), fin=True)
                ws.send_data()
            elif message == "close please":
                await ws.close(1008, "golden policy")
    except ConnectionClosed:
        pass


async def main_serve(port):
    async with serve(handler, "127.0.0.1", port, compression="deflate") as server:
        await server.serve_forever()


async def main_talk(port, mode):
    compression = "deflate" if mode == "deflate" else None
    async with connect(f"ws://127.0.0.1:{port}/golden?mode={mode}", compression=compression) as ws:
        await ws.send('{"op":"subscribe","channel":"golden"}')
        await ws.recv()
        await ws.send(bytes(range(256)) * 2)
        await ws.recv()
        pong = await ws.ping(b"golden-ping")
        await pong
        await ws.send("more please")
        await ws.recv()
        if mode == "deflate":
            await ws.close(1000, "bye")
            return
        await ws.send("fragments please")
        await ws.recv()
        await ws.send("close please")
        try:
            await ws.recv()
        except ConnectionClosed:
            pass


if __name__ == "__main__":
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "serve":
        asyncio.run(main_serve(port))
    else:
        asyncio.run(main_talk(port, sys.argv[3]))
