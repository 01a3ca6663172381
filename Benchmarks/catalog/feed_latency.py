"""Catalog change latency across replicas, from outside: posts price changes and stock-outs with
UpsertItems (grpcio, on one replica's admin listener) and polls every replica's GET /v1/items/{id}
until all of them serve the change. Prints p50, p99 and max over the changes.

  python3 Benchmarks/catalog/feed_latency.py --admin 127.0.0.1:P --http P1,P2 [--changes 1000]
"""
import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Scripts"))
import grpc  # noqa: E402

api_check = __import__("api-check")


def item_json(port, item_id):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"/v1/items/{item_id}")
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return json.loads(body) if response.status == 200 else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin", required=True)
    parser.add_argument("--http", required=True, help="the replicas' HTTP ports, comma-separated")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--ids", default="", help="item ids to change (default: SKU-100000 on)")
    args = parser.parse_args()
    ports = [int(p) for p in args.http.split(",")]
    out = tempfile.mkdtemp()
    _, _, _, _, admin_pb2, admin_pb2_grpc = api_check.load_protos(out)
    admin = admin_pb2_grpc.AdminStub(grpc.insecure_channel(args.admin))
    rng = random.Random(29)
    latencies = []
    for i in range(args.changes):
        item_id = f"SKU-{100000 + rng.randrange(0, 2000)}"
        current = item_json(ports[0], item_id)
        if current is None:
            continue
        price = round(1000 + i + rng.random(), 2)
        in_stock = i % 4 != 0
        request = admin_pb2.UpsertItemsRequest(items=[admin_pb2.CatalogItem(
            id=item_id, title=current["title"], category="/".join(current["category_path"]), brand=current["brand"], price=price,
            tags=current.get("tags", []), in_stock=in_stock)])
        start = time.monotonic()
        admin.UpsertItems(request, timeout=5)
        waiting = set(ports)
        while waiting:
            for port in list(waiting):
                served = item_json(port, item_id)
                if served and abs(served["price"] - price) < 1e-9 and served["in_stock"] == in_stock:
                    waiting.discard(port)
            if waiting:
                if time.monotonic() - start > 10:
                    sys.exit(f"feed_latency: change {i} of {item_id} not served after 10 s by ports {sorted(waiting)}")
                time.sleep(0.002)
        latencies.append(time.monotonic() - start)
    latencies.sort()
    n = len(latencies)
    print(f"catalog changes: {n} (price and stock) on {len(ports)} replicas: p50 {latencies[n // 2] * 1000:.1f} ms, "
          f"p99 {latencies[n * 99 // 100] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms", flush=True)


if __name__ == "__main__":
    main()
