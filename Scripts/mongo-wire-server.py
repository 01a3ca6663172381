#!/usr/bin/env python3
"""A MongoDB wire-protocol server on loopback for tests and the demo (Debian has no mongod).

Backed by the PyPI package mongoeco (Python >= 3.13); Scripts/python-env installs it. It speaks the
real wire protocol to the real libmongoc driver. Production points --mongo at a real MongoDB, and
nothing in Funnel depends on this stand-in's quirks.

    .venv-funnel/bin/python Scripts/mongo-wire-server.py --port 27790 [--db FILE.sqlite] [--pidfile F]
Prints 'READY mongodb://127.0.0.1:PORT' once listening; SIGTERM or SIGINT stop it cleanly.
Known limits: a $in with more than ~250 values fails on the SQLite engine (send chunks); inserts over
the wire slow down as a collection grows.
"""
import argparse
import asyncio
import os
import signal

from mongoeco.engines import MemoryEngine, SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=27790)
    ap.add_argument("--db", help="SQLite file for persistent data (default: in memory)")
    ap.add_argument("--pidfile")
    args = ap.parse_args()

    engine = SQLiteEngine(args.db) if args.db else MemoryEngine()
    server = AsyncMongoEcoProxyServer(engine=engine, host=args.host, port=args.port)
    addr = await server.start()
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write(str(os.getpid()))
    print(f"READY mongodb://{addr.host}:{addr.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.close()


if __name__ == "__main__":
    asyncio.run(main())
