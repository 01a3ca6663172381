#!/usr/bin/env python3
"""An independent gRPC client (Python grpcio) against a running `funnel serve`.

Compiles the committed funnel/v1 .proto files with grpcio-tools at run time (health uses the
grpcio-health-checking package, i.e. the upstream grpc.health.v1 definition), then calls Recommend,
Search, BatchRecommend, Track, TrackOrders, Admin.Status, Admin.ExperimentReport and Health.Check (and,
with --http, POST /v1/events, POST /v1/orders, /healthz and /metrics; with --dashboard, that the
dashboard's view shows the orders and the attributed click) and checks the answers are well formed;
sends N malformed requests, each of which must fail with INVALID_ARGUMENT and a message naming the
field; and checks the server still answers afterwards. Prints 'N passed, N failed'; exit 0 when all pass.

    python3 Scripts/api-check.py --target 127.0.0.1:50051 [--admin 127.0.0.1:50052] [--http 127.0.0.1:8080] [--malformed 1000]
                                 [--tls] [--ca FILE] [--cert FILE --key FILE] [--credential KEY_OR_JWT]
With --tls (or --ca) every channel and HTTP request speaks TLS, verifying the server against --ca (or the
system's CAs); --credential is sent as `authorization: Bearer` on every call and request.
Needs grpcio, grpcio-tools and grpcio-health-checking (Scripts/test makes a venv with them).
"""
import argparse
import importlib
import os
import random
import sys
import tempfile
import time
import urllib.error

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_tools import protoc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROTOS = os.path.join(ROOT, "Sources", "FunnelGRPC", "Protos")


def compile_protos(out):
    files = sorted(os.path.join("funnel", "v1", n) for n in os.listdir(os.path.join(PROTOS, "funnel", "v1"))
                   if n.endswith(".proto"))
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    if protoc.main(["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"] + files):
        sys.exit("api-check: protoc failed")
    sys.path.insert(0, out)


def load_protos(out):
    """The funnel/v1 modules, compiled into `out`: recommender, events and admin, each message and service."""
    compile_protos(out)
    names = ["recommender_pb2", "recommender_pb2_grpc", "events_pb2", "events_pb2_grpc", "admin_pb2", "admin_pb2_grpc"]
    return [importlib.import_module(f"funnel.v1.{n}") for n in names]


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}", flush=True)
        return ok


def malformed_requests(pb, rng, n):
    """Yields (description, request, field the error message must name)."""
    scenes = [pb.SCENE_HOME, pb.SCENE_CART, pb.SCENE_EMAIL]
    makers = [
        (lambda: pb.RecommendRequest(user_id="", scene=pb.SCENE_HOME), "user_id"),
        (lambda: pb.RecommendRequest(user_id="u" * rng.randint(257, 5000), scene=rng.choice(scenes)), "user_id"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_UNSPECIFIED), "scene"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=rng.randint(6, 10_000)), "scene"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=rng.randint(1001, 2**32 - 1)), "count"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME,
                                     exclude_item_ids=["x"] * rng.randint(1001, 3000)), "exclude_item_ids"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, exclude_item_ids=["ok", ""]), "exclude_item_ids"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_ITEM_PAGE), "anchor_item_ids"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME,
                                     filter=rng.choice(["category:", "price:[10 TO", "(brand:x", "nope:1", "AND",
                                                        "price:[50 TO 10]", "in_stock:maybe", 'brand:"open',
                                                        "price:abc", "((((" * 20])), "filter"),
        (lambda: pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME,
                                     context={f"k{i}": "v" for i in range(rng.randint(33, 60))}), "context"),
        (lambda: pb.RecommendRequest(user_id="U-\x01", scene=pb.SCENE_HOME), "user_id"),
        (lambda: pb.SearchRequest(query="mug", facets=[rng.choice(["colour", "brand:1,2", "price:9,3", "price:nan",
                                                                   "attr.", "attr.Size", "x" * 300])]), "facets[0]"),
        (lambda: pb.SearchRequest(query="mug", facets=["brand"] * rng.randint(9, 50)), "facets"),
        (lambda: pb.SearchRequest(query="mug", facets=["tag", "tag"]), "facets[1]"),
        (lambda: pb.SearchRequest(query="mug", facet_size=rng.randint(101, 2**32 - 1)), "facet_size"),
        (lambda: pb.SearchRequest(query="mug", sort=rng.choice(["cheapest", "price", "attr.x", "attr.x:up", "\x00"])), "sort"),
        (lambda: pb.SearchRequest(query="mug", cursor=rng.choice(["zzz", "A" * 38, "%%%%", "x" * 5000])), "cursor"),
    ]
    for i in range(n):
        make, field = makers[i % len(makers)]
        yield make(), field


class Connector:
    """Opens the script's gRPC channels and HTTP requests: plaintext, or TLS with an optional client
    certificate, each carrying the credential when one is given."""

    def __init__(self, args):
        self.tls = args.tls or args.ca is not None or args.cert is not None
        self.credential = args.credential or os.environ.get("FUNNEL_CREDENTIAL") or None
        read = lambda path: open(path, "rb").read() if path else None
        self.grpc_credentials = grpc.ssl_channel_credentials(
            root_certificates=read(args.ca), private_key=read(args.key), certificate_chain=read(args.cert)) if self.tls else None
        self.ssl_context = None
        if self.tls:
            import ssl
            self.ssl_context = ssl.create_default_context(cafile=args.ca)
            if args.cert:
                self.ssl_context.load_cert_chain(args.cert, args.key)

    def channel(self, target, **kwargs):
        channel = (grpc.secure_channel(target, self.grpc_credentials, **kwargs) if self.tls
                   else grpc.insecure_channel(target, **kwargs))
        return grpc.intercept_channel(channel, BearerInterceptor(self.credential)) if self.credential else channel

    def url(self, hostport, path):
        return f"{'https' if self.tls else 'http'}://{hostport}{path}"

    def open(self, hostport, path, data=None, headers=None, method=None):
        import urllib.request
        headers = dict(headers or {})
        if self.credential:
            headers["authorization"] = f"Bearer {self.credential}"
        request = urllib.request.Request(self.url(hostport, path), data=data, method=method, headers=headers)
        return urllib.request.urlopen(request, timeout=5, context=self.ssl_context)


class BearerInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                        grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds `authorization: Bearer <credential>` to every call's metadata."""

    def __init__(self, credential):
        self.header = ("authorization", f"Bearer {credential}")

    def _details(self, details):
        return _Details(details, list(details.metadata or []) + [self.header])

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):
        return continuation(self._details(details), requests)


class _Details(grpc.ClientCallDetails):
    """A call's details with other metadata (grpc.ClientCallDetails is an interface without a constructor)."""

    def __init__(self, details, metadata):
        self.method, self.timeout, self.metadata = details.method, details.timeout, metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", default="127.0.0.1:50051")
    ap.add_argument("--malformed", type=int, default=1000)
    ap.add_argument("--http", help="HOST:PORT of the HTTP listener (POST /v1/events, /healthz, /metrics)")
    ap.add_argument("--dashboard", help="HOST:PORT of the dashboard listener (GET /v1/dashboard): orders must show there")
    ap.add_argument("--admin", help="HOST:PORT of the admin listener (Admin); default: --target's host, port 50052")
    ap.add_argument("--tls", action="store_true", help="speak TLS on every channel and HTTP request")
    ap.add_argument("--ca", help="PEM CA of the server's certificate (implies --tls)")
    ap.add_argument("--cert", help="PEM client certificate (mutual TLS; with --key)")
    ap.add_argument("--key", help="PEM private key of --cert")
    ap.add_argument("--credential", help="API key or JWT sent as 'authorization: Bearer' (default: $FUNNEL_CREDENTIAL)")
    args = ap.parse_args()
    connect = Connector(args)

    pb, pb_grpc, ev, ev_grpc, adm, adm_grpc = load_protos(tempfile.mkdtemp(prefix="funnel-api-check-"))

    channel = connect.channel(args.target)
    grpc.channel_ready_future(channel).result(timeout=30)
    rec = pb_grpc.RecommenderStub(channel)
    events = ev_grpc.EventCollectorStub(channel)
    admin_target = args.admin or f"{args.target.rsplit(':', 1)[0]}:50052"
    admin_channel = connect.channel(admin_target)
    admin = adm_grpc.AdminStub(admin_channel)
    # The Admin service is on its own listener only, never on the public one.
    try:
        adm_grpc.AdminStub(channel).Status(adm.StatusRequest(), timeout=5)
        admin_on_public = True
    except grpc.RpcError as e:
        admin_on_public = e.code() != grpc.StatusCode.UNIMPLEMENTED
    health = health_pb2_grpc.HealthStub(channel)
    r = Report()

    h = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    r.check("health", h.status == health_pb2.HealthCheckResponse.SERVING, str(h))
    h = health.Check(health_pb2.HealthCheckRequest(service="funnel.v1.Recommender"), timeout=5)
    r.check("health service", h.status == health_pb2.HealthCheckResponse.SERVING, str(h))

    status = admin.Status(adm.StatusRequest(), timeout=5)
    r.check("status", status.item_count > 0 and status.index_version != "", str(status))
    r.check("admin not on the public listener", not admin_on_public)

    resp = rec.Recommend(pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=10, debug=True), timeout=5)
    ids = [i.item_id for i in resp.items]
    r.check("recommend count", len(ids) == 10, str(resp))
    r.check("recommend unique", len(set(ids)) == len(ids), str(ids))
    r.check("recommend channels", all(i.channels for i in resp.items), str(resp.items))
    r.check("recommend ids", len(resp.request_id) == 16 and resp.model_version and resp.index_version, str(resp))
    r.check("recommend debug", {t.stage for t in resp.debug.timings} >= {"context", "recall", "rank"}, str(resp.debug))
    print(f"Recommend U-1 home: {ids[:5]} ... request_id={resp.request_id}", flush=True)

    page = rec.Recommend(pb.RecommendRequest(user_id="U-2", scene=pb.SCENE_ITEM_PAGE, count=5,
                                             anchor_item_ids=[ids[0]]), timeout=5)
    r.check("item page", len(page.items) == 5 and ids[0] not in [i.item_id for i in page.items], str(page))

    filtered = rec.Recommend(pb.RecommendRequest(user_id="U-3", scene=pb.SCENE_HOME, count=20,
                                                 filter="price:[0 TO 15] AND NOT category:fashion"), timeout=5)
    r.check("filter", len(filtered.items) > 0, str(filtered))

    search = rec.Search(pb.SearchRequest(query="ceramic mug", user_id="U-4", count=10), timeout=5)
    r.check("search", len(search.items) > 0 and search.total_matches >= len(search.items), str(search))
    r.check("search channel", all("text" in i.channels for i in search.items), str(search.items))

    # Facets, a keyed sort walked page by page with cursors, and the rewrite of a misspelt query.
    faceted = rec.Search(pb.SearchRequest(query="ceramic mug", count=5, facets=["brand", "category", "price:0,10,20"]), timeout=5)
    named = {f.name: f for f in faceted.facets}
    r.check("search facets", list(named) == ["brand", "category", "price:0,10,20"]
            and sum(v.count for v in named["price:0,10,20"].values) <= faceted.total_matches
            and all(v.count > 0 for v in named["brand"].values), str(faceted.facets)[:300])
    r.check("search facet bands", [(v.low if v.HasField("low") else None, v.high if v.HasField("high") else None)
                                   for v in named["price:0,10,20"].values][-3:] == [(0, 10), (10, 20), (20, None)],
            str(named["price:0,10,20"]))
    pages, cursor, prices = [], "", []
    while len(pages) < 2000:
        page = rec.Search(pb.SearchRequest(query="mug", count=25, sort="price_asc", cursor=cursor), timeout=5)
        pages += [i.item_id for i in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    r.check("search cursor pages", len(pages) == len(set(pages)) and len(pages) == page.total_matches,
            f"{len(pages)} items, {len(set(pages))} distinct, {page.total_matches} matches")
    try:
        rec.Search(pb.SearchRequest(query="lamp", count=4, sort="price_asc", cursor=faceted.next_cursor or "x"), timeout=5)
        r.check("search cursor of another query", False, "accepted")
    except grpc.RpcError as e:
        r.check("search cursor of another query", e.code() == grpc.StatusCode.INVALID_ARGUMENT and "cursor" in e.details(), e.details())
    suggest = rec.Suggest(pb.SuggestRequest(prefix="Cer", user_id="U-4", count=5), timeout=5)
    r.check("suggest", 0 < len(suggest.suggestions) <= 5 and all(x.text.startswith("cer") for x in suggest.suggestions)
            and all(x.kind in ("query", "catalog") for x in suggest.suggestions), str(suggest)[:300])
    for bad, field in [(pb.SuggestRequest(prefix=""), "prefix"), (pb.SuggestRequest(prefix="x" * 101), "prefix"),
                       (pb.SuggestRequest(prefix="mu", count=51), "count")]:
        try:
            rec.Suggest(bad, timeout=5)
            r.check(f"suggest refuses {field}", False, "accepted")
        except grpc.RpcError as e:
            r.check(f"suggest refuses {field}", e.code() == grpc.StatusCode.INVALID_ARGUMENT and field in e.details(), e.details())
    typo = rec.Search(pb.SearchRequest(query="cermaic mug zzqqxx", count=5), timeout=5)
    r.check("search rewrite", [c.typed for c in typo.rewrite.corrections] == ["cermaic"] and list(typo.rewrite.dropped) == ["zzqqxx"]
            and len(typo.items) > 0, str(typo.rewrite))
    empty = rec.Search(pb.SearchRequest(query="zzqqxx", count=5), timeout=5)
    r.check("search without results", len(empty.items) == 0 and empty.total_matches == 0 and not empty.next_cursor, str(empty))

    rows = [pb.BatchRecommendRequest(row_id=f"row-{k}", request=pb.RecommendRequest(
        user_id=f"U-{k + 1}" if k % 7 else "", scene=pb.SCENE_EMAIL, count=5)) for k in range(50)]
    answers = list(rec.BatchRecommend(iter(rows), timeout=30))
    r.check("batch count", len(answers) == 50, str(len(answers)))
    r.check("batch order", [a.row_id for a in answers] == [row.row_id for row in rows])
    bad = [a for a in answers if a.WhichOneof("result") == "error"]
    r.check("batch row errors", len(bad) == 8 and all(a.error.code == "INVALID_ARGUMENT" for a in bad), str(bad[:2]))
    r.check("batch answers", all(len(a.response.items) == 5 for a in answers if a.WhichOneof("result") == "response"))

    now = int(time.time() * 1000)
    evs = [ev.Event(event_id=f"api-check-{now}-{k}", user_id="api-check-user", item_id=ids[k % len(ids)],
                    type=ev.EVENT_TYPE_VIEW, timestamp_ms=now) for k in range(3)]
    evs.append(ev.Event(event_id="bad", user_id="u", item_id="i", type=ev.EVENT_TYPE_UNSPECIFIED))
    t = events.Track(ev.TrackRequest(events=evs), timeout=5)
    r.check("track", t.accepted == 3 and len(t.rejected) == 1 and t.rejected[0].index == 3, str(t))
    t = events.Track(ev.TrackRequest(events=evs[:3]), timeout=5)
    r.check("track idempotent", t.accepted == 0 and t.duplicates == 3, str(t))

    # The served lists were logged as exposures; a click with the answer's request id is attributed.
    click = ev.Event(event_id=f"api-check-click-{now}", user_id="U-1", item_id=ids[0], type=ev.EVENT_TYPE_CLICK,
                     timestamp_ms=now, request_id=resp.request_id)
    r.check("track click", events.Track(ev.TrackRequest(events=[click]), timeout=5).accepted == 1)
    denied = ev.Event(event_id=f"api-check-nc-{now}", user_id="U-nc", item_id=ids[0], type=ev.EVENT_TYPE_VIEW,
                      timestamp_ms=now, consent=ev.CONSENT_DENIED)
    answer = events.Track(ev.TrackRequest(events=[denied]), timeout=5)
    r.check("track without consent: counted, not stored", answer.accepted == 0 and answer.without_consent == 1, str(answer))
    # Live catalog changes: a price change, a stock-out and a new item served at once (this server's
    # feed), a deletion gone from answers, bad input refused naming the field.
    new_id = f"api-check-new-{now}"
    changed = adm.UpsertItemsRequest(items=[
        adm.CatalogItem(id=ids[2], title="api check repriced", category="home/api", brand="Check", price=4321.5),
        adm.CatalogItem(id=new_id, title="zorbulated widget", category="home/api", brand="Check", price=3, in_stock=True)])
    posted = admin.UpsertItems(changed, timeout=5)
    r.check("upsert items", posted.accepted == 2 and posted.feed_position != "", str(posted))
    def searched(query, settled):
        """The ids Search answers for `query` once `settled(ids)` holds (a change takes a moment), or after 2 s."""
        for _ in range(100):
            found = [i.item_id for i in rec.Search(pb.SearchRequest(query=query, user_id="U-1", count=5), timeout=5).items]
            if settled(found):
                break
            time.sleep(0.02)
        return found

    found = searched("zorbulated", bool)
    r.check("a new item is found before any rebuild", found == [new_id], str(found))
    deleted = admin.DeleteItems(adm.DeleteItemsRequest(item_ids=[new_id]), timeout=5)
    r.check("delete items", deleted.accepted == 1, str(deleted))
    found = searched("zorbulated", lambda ids: not ids)
    r.check("a deleted item is gone", found == [], str(found))
    try:
        admin.UpsertItems(adm.UpsertItemsRequest(items=[adm.CatalogItem(id="x", title="t", category="", price=1)]), timeout=5)
        r.check("an item without a category is refused", False, "accepted")
    except grpc.RpcError as e:
        r.check("an item without a category is refused", e.code() == grpc.StatusCode.INVALID_ARGUMENT
                and "items[0].category" in e.details(), f"{e.code()} {e.details()}")

    report = admin.ExperimentReport(adm.ExperimentReportRequest(), timeout=10)
    default = [a for a in report.arms if a.arm == "default"]
    r.check("experiment report", len(default) == 1 and default[0].exposures >= 5
            and default[0].click_through.successes >= 1, str(report))

    if args.http:
        import json
        body = json.dumps({"events": [{"event_id": f"api-check-http-{now}", "user_id": "api-check-user",
                                       "item_id": ids[1], "type": "add_to_cart", "timestamp_ms": now},
                                      {"event_id": "http-bad", "user_id": "api-check-user", "item_id": ids[1],
                                       "type": "teleport"},
                                      {"event_id": f"api-check-http-nc-{now}", "user_id": "api-check-nc", "item_id": ids[1],
                                       "type": "view", "consent": "denied"}]}).encode()
        answer = json.loads(connect.open(args.http, "/v1/events", data=body, method="POST",
                                         headers={"content-type": "application/json"}).read())
        r.check("http events", answer["accepted"] == 1 and answer["rejected"][0]["index"] == 1
                and "type" in answer["rejected"][0]["reason"] and answer["without_consent"] == 1, str(answer))
        r.check("http healthz", connect.open(args.http, "/healthz").read() == b"ok\n")
        metrics = connect.open(args.http, "/metrics").read().decode()
        r.check("http metrics", "funnel_events_accepted_total" in metrics and "funnel_answers_total" in metrics, metrics[:300])
        suggested = json.loads(connect.open(args.http, "/v1/suggest", data=json.dumps({"prefix": "cer", "count": 3}).encode(),
                                            method="POST", headers={"content-type": "application/json"}).read())
        r.check("http suggest", 0 < len(suggested["suggestions"]) <= 3
                and all(x["text"].startswith("cer") for x in suggested["suggestions"]), str(suggested))
        http_search = json.loads(connect.open(args.http, "/v1/search", data=json.dumps(
            {"query": "mug", "count": 2, "facets": ["category"], "sort": "price_asc"}).encode(),
            method="POST", headers={"content-type": "application/json"}).read())
        r.check("http search facets and cursor", http_search["facets"][0]["name"] == "category" and http_search["next_cursor"]
                and "rewrite" in http_search, str(http_search)[:300])
        try:
            connect.open(args.http, "/v1/search", data=json.dumps({"query": "mug", "sort": "cheapest"}).encode(),
                         method="POST", headers={"content-type": "application/json"})
            r.check("http: a bad sort is refused", False, "accepted")
        except urllib.error.HTTPError as e:
            problem = json.loads(e.read())
            r.check("http: a bad sort is refused", e.code == 400 and problem.get("field") == "sort", str(problem))

    # The order feed: accepted once per order id and state, invalid changes reported by index.
    order = ev.Order(order_id=f"api-check-order-{now}", state=ev.ORDER_STATE_PAID, customer_id="api-check-customer",
                     amount=12.5, currency="GBP", country="GB", source="search", timestamp_ms=now,
                     lines=[ev.OrderLine(item_id=ids[0], quantity=1, unit_price=12.5)])
    bad_order = ev.Order(order_id="api-check-bad-order", state=ev.ORDER_STATE_UNSPECIFIED, amount=1, currency="GBP")
    placed = events.TrackOrders(ev.TrackOrdersRequest(orders=[order, bad_order]), timeout=5)
    r.check("track orders", placed.accepted == 1 and len(placed.rejected) == 1 and placed.rejected[0].index == 1
            and "state" in placed.rejected[0].reason, str(placed))
    again = events.TrackOrders(ev.TrackOrdersRequest(orders=[order]), timeout=5)
    r.check("track orders idempotent", again.accepted == 0 and again.duplicates == 1, str(again))
    try:
        events.TrackOrders(ev.TrackOrdersRequest(orders=[]), timeout=5)
        r.check("track orders empty", False, "accepted an empty batch")
    except grpc.RpcError as e:
        r.check("track orders empty", e.code() == grpc.StatusCode.INVALID_ARGUMENT and "orders" in (e.details() or ""),
                f"{e.code()} {e.details()}")
    if args.http:
        import json
        body = json.dumps({"orders": [{"order_id": f"api-check-http-order-{now}", "state": "paid", "amount": 7.5,
                                       "currency": "GBP", "lines": [{"item_id": ids[1], "quantity": 1, "unit_price": 7.5}]},
                                      {"order_id": "x", "state": "paid", "amount": 1, "currency": "pounds"}]}).encode()
        answer = json.loads(connect.open(args.http, "/v1/orders", data=body, method="POST",
                                         headers={"content-type": "application/json"}).read())
        r.check("http orders", answer["accepted"] == 1 and answer["rejected"][0]["index"] == 1
                and "currency" in answer["rejected"][0]["reason"], str(answer))
        # Catalog changes as JSON: a new item found by search, then deleted; a bad one named.
        json_id = f"api-check-json-{now}"
        body = json.dumps({"items": [{"id": json_id, "title": "quixotrope lamp", "category": "home/api", "price": 9,
                                      "number_attributes": {"watts": 40}}]}).encode()
        answer = json.loads(connect.open(args.http, "/v1/catalog/items", data=body, method="POST",
                                         headers={"content-type": "application/json"}).read())
        r.check("http upsert items", answer["accepted"] == 1 and answer["feed_position"] != "", str(answer))
        found = searched("quixotrope", bool)
        r.check("http: a new item is found", found == [json_id], str(found))
        body = json.dumps({"item_ids": [json_id]}).encode()
        answer = json.loads(connect.open(args.http, "/v1/catalog/deletions", data=body, method="POST",
                                         headers={"content-type": "application/json"}).read())
        r.check("http delete items", answer["accepted"] == 1, str(answer))
        try:
            connect.open(args.http, "/v1/catalog/items", data=json.dumps({"items": [{"id": "x", "category": "a", "price": -1}]}).encode(),
                         method="POST", headers={"content-type": "application/json"})
            r.check("http: a negative price is refused", False, "accepted")
        except urllib.error.HTTPError as e:
            problem = json.loads(e.read())
            r.check("http: a negative price is refused", e.code == 400 and problem.get("field") == "items[0].price", str(problem))
    if args.dashboard:
        import json
        deadline, gmv = time.time() + 3, 0
        while time.time() < deadline:
            view = json.loads(connect.open(args.dashboard, "/v1/dashboard").read())
            gmv = view["tick"]["tiles"]["today"]["gmv"]
            if gmv >= 12.5 + (7.5 if args.http else 0):
                break
            time.sleep(0.1)
        r.check("dashboard shows the orders", gmv >= 12.5 + (7.5 if args.http else 0), f"today's GMV {gmv}")
        homes = [row for row in view["recommendations"] if row["scene"] == "home"]
        r.check("dashboard attributes the click", homes and homes[0]["clicks"] >= 1 and homes[0]["impressions"] >= 5, str(homes))
        r.check("dashboard lists searches without results", any(q["query"] == "zzqqxx" for q in view["zero_result_searches"]),
                str(view["zero_result_searches"]))

    # A client configured for gzip (as grpcio users do) and one sending a timeout of ~10 years: both
    # are ordinary, neither may fail a call or the server (the raw-frame tests send 99999999H).
    gz = connect.channel(args.target, compression=grpc.Compression.Gzip,
                               options=[("grpc.use_local_subchannel_pool", 1)])
    zipped = pb_grpc.RecommenderStub(gz).Recommend(pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=50),
                                                     timeout=5)
    r.check("gzip client", len(zipped.items) == 50, str(zipped)[:200])
    big = events.Track(ev.TrackRequest(events=[ev.Event(event_id=f"api-check-gz-{now}", user_id="api-check-user",
                                                         item_id=ids[2], type=ev.EVENT_TYPE_VIEW, timestamp_ms=now)]),
                       timeout=5, compression=grpc.Compression.Deflate)
    r.check("deflate call", big.accepted == 1, str(big))
    gz.close()
    far = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=3e8)
    r.check("huge timeout", far.status == health_pb2.HealthCheckResponse.SERVING, str(far))
    unknown_item = events.Track(ev.TrackRequest(events=[ev.Event(event_id=f"api-check-unknown-{now}", user_id="u",
                                                                 item_id="no-such-item", type=ev.EVENT_TYPE_VIEW)]),
                                timeout=5)
    r.check("unknown item refused", unknown_item.accepted == 0 and "catalog" in unknown_item.rejected[0].reason,
            str(unknown_item))

    rng = random.Random(7)
    for k, (request, field) in enumerate(malformed_requests(pb, rng, args.malformed)):
        try:
            (rec.Search if isinstance(request, pb.SearchRequest) else rec.Recommend)(request, timeout=5)
            r.check(f"malformed #{k}", False, f"accepted {str(request)[:120]}")
        except grpc.RpcError as e:
            ok = e.code() == grpc.StatusCode.INVALID_ARGUMENT and field in (e.details() or "")
            r.check(f"malformed #{k}", ok, f"{e.code()} {e.details()} (expected {field})")
    after = rec.Recommend(pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=3), timeout=5)
    r.check("alive after malformed", len(after.items) == 3)

    print(f"api-check against {args.target}: {args.malformed} malformed requests sent", flush=True)
    print(f"{r.passed} passed, {r.failed} failed", flush=True)
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
