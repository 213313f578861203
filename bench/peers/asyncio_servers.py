"""asyncio_servers.py: the I/O benchmarks' servers in asyncio (a peer).

    python3 asyncio_servers.py echo|chat [-H HOST] [-p PORT] [--uvloop]

The same servers as bench/io/echo_runtime.c and chat_runtime.c, written as
the asyncio workshop writes them: start_server, a coroutine per connection,
StreamReader.readline, StreamWriter.write and drain. Prints "listening on
HOST:PORT" once it listens and serves until killed. --uvloop runs the same
code on uvloop's event loop policy. This file is a benchmark peer only: the
kit itself contains no Python.
"""

import asyncio
import sys

PROMPT = b"What's your name? "
MAX_BEHIND = 1024 * 1024  # bytes queued for one chat client before dropping it


async def echo(reader, writer):
    try:
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # longer than the limit: asyncio drops it
                continue
            if not line:
                break
            writer.write(line)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


room = {}  # writer -> name, for the named clients


async def chat(reader, writer):
    try:
        name = b""
        while not name:
            writer.write(PROMPT)
            line = await reader.readline()
            if not line:
                return
            name = line.rstrip(b"\r\n")
        room[writer] = name
        while True:
            try:
                line = await reader.readline()
            except ValueError:
                continue
            if not line:
                break
            message = name + b": " + line.rstrip(b"\r\n") + b"\n"
            # write never blocks; waiting for one slow reader's drain would
            # stall the room, so a client too far behind is dropped instead.
            for other in list(room):
                if other is writer:
                    continue
                if other.transport.get_write_buffer_size() > MAX_BEHIND:
                    other.transport.abort()
                    room.pop(other, None)
                else:
                    other.write(message)
    except ConnectionError:
        pass
    finally:
        room.pop(writer, None)
        writer.close()


async def serve(handler, host, port):
    server = await asyncio.start_server(handler, host, port, backlog=4096)
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv):
    use_uvloop = "--uvloop" in argv
    args = [a for a in argv if a != "--uvloop"]
    host, port = "127.0.0.1", 0
    if not args or args[0] not in ("echo", "chat") or len(args) % 2 != 1:
        print("usage: asyncio_servers.py echo|chat [-H HOST] [-p PORT] "
              "[--uvloop]", file=sys.stderr)
        return 2
    for flag, value in zip(args[1::2], args[2::2]):
        if flag == "-H":
            host = value
        elif flag == "-p":
            port = int(value)
    if use_uvloop:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    handler = echo if args[0] == "echo" else chat
    asyncio.run(serve(handler, host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
