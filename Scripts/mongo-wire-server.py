#!/usr/bin/env python3
"""A MongoDB wire-protocol server on loopback for tests and the demo (Debian has no mongod).

Backed by the PyPI package mongoeco (Python >= 3.13); Scripts/python-env installs it. It speaks the
real wire protocol to the real libmongoc driver. Production points --mongo at a real MongoDB, and
nothing in Funnel depends on this stand-in's quirks.

    .venv-funnel/bin/python Scripts/mongo-wire-server.py --port 27790 [--db FILE.sqlite] [--pidfile F]
        [--seed DB.COLL=FILE.jsonl]...   # bulk-load in process first (inserts over the wire slow down)
Prints 'READY mongodb://127.0.0.1:PORT' once listening; SIGTERM or SIGINT stop it cleanly.
Known limits: a $in with more than ~250 values fails on the SQLite engine (send chunks); inserts over
the wire slow down as a collection grows.
"""
import argparse
import asyncio
import json
import os
import signal

from mongoeco.api import AsyncMongoClient
from mongoeco.engines import MemoryEngine, SQLiteEngine
from mongoeco.wire import AsyncMongoEcoProxyServer


async def seed(engine, specs):
    """Loads JSON-lines files into DB.COLLECTION in process, replacing what was there; a document's
    `id` becomes its `_id` (the layout `funnel features load` writes)."""
    client = await AsyncMongoClient(engine).__aenter__()  # connects; closed below, not by `async with`
    try:
        for spec in specs:
            target, path = spec.split("=", 1)
            db_name, coll_name = target.split(".", 1)
            docs = []
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        doc = json.loads(line)
                        doc["_id"] = doc.pop("id", doc.get("_id"))
                        docs.append(doc)
            coll = client[db_name][coll_name]
            await coll.drop()
            for start in range(0, len(docs), 10_000):
                await coll.insert_many(docs[start:start + 10_000])
            print(f"seeded {len(docs)} documents into {target}", flush=True)
    finally:
        # Every insert has returned by now; mongoeco's close also drops its lease row, which SQLite
        # refused once after a 1M-document load ("database is locked") and took the server down.
        try:
            await client.close()
        except Exception as error:  # noqa: BLE001 - the documents are written; serve them
            print(f"seed: closing the loading client failed, continuing: {error!r}", flush=True)


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=27790)
    ap.add_argument("--db", help="SQLite file for persistent data (default: in memory)")
    ap.add_argument("--pidfile")
    ap.add_argument("--seed", action="append", default=[], metavar="DB.COLL=FILE.jsonl",
                    help="bulk-load a JSON-lines file first (needs --db: the memory engine would forget it)")
    args = ap.parse_args()
    if args.seed and not args.db:
        ap.error("--seed needs --db FILE")
    if args.seed:
        await seed(SQLiteEngine(args.db), args.seed)

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
