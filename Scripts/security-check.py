#!/usr/bin/env python3
"""Independent clients (grpcio, urllib, openssl s_client) against `funnel serve` with TLS and authentication.

Makes its own PKI and credentials with the `cryptography` and PyJWT packages (nothing from Funnel's
code): a CA and a server certificate for localhost, a second CA nobody trusts, a client certificate, a
JSON Web Key Set with ES256, RS256 and EdDSA keys, tokens good and bad, and three API keys. Starts the
server itself (TLS 1.3 only, API keys and JWTs, the admin listener apart), then checks:

  - every RPC x credential kind over gRPC (the public and the admin listener) and every route x
    credential kind over HTTPS: OK / UNAUTHENTICATED / PERMISSION_DENIED, 200 / 401 / 403;
  - the Admin service is not on the public listener;
  - a client trusting another CA fails the handshake; TLS 1.2 is refused, 1.3 served (openssl s_client);
  - a certificate rotated on disk (SIGHUP) is served to new connections while a BatchRecommend stream
    opened before goes on answering;
  - mutual TLS: a second server with a client CA refuses a client without a certificate and serves one with;
    with allowed subjects, a certificate of the CA naming none (or meant for servers) is refused over
    gRPC and HTTPS, and the refusal logged;
  - the project's own clients over mutual TLS with an API key: Scripts/api-check.py (grpcio and urllib)
    passes, and `funnel load --client nio-http2` runs without errors (and is refused without the key);
  - a caller's connections are capped (`limits.callerConnections`): one more is refused, and a closed
    one gives its place back;
  - a caller over its rate or its calls in flight gets RESOURCE_EXHAUSTED with a retry hint while another
    caller at 20 calls/s keeps its p99 under POLITE_P99_MS;
  - every Admin call, allowed or refused, is a line of the audit file (caller, result; a user id as a hash);
  - a server asked to listen on a non-loopback address without authentication refuses to start.

Prints 'N passed, N failed'; exit 0 when all pass.

    python3 Scripts/security-check.py .build/debug/funnel
Needs grpcio, grpcio-tools, grpcio-health-checking, PyJWT and cryptography (Scripts/requirements.txt), openssl.
"""
import datetime
import hashlib
import importlib
import json
import re
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # the expected handshake failures are not news
import grpc
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
api_check = importlib.import_module("api-check")
processes = importlib.import_module("processes")

ISSUER, AUDIENCE = "https://issuer.example", "funnel"
# Every caller's recommend rate (calls per second, and the burst), and the polite caller's SLO: p99
# under this many milliseconds while another caller floods (a debug build on two shared cores).
FLOOD_RATE, POLITE_P99_MS = 20, 250
# The clients' server caps each caller's connections at this (the API check's channels stay under it).
CONNECTIONS_PER_CALLER = 6


free_port = processes.free_port


def pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def certificate(subject, key, issuer_name, issuer_key, ca=False, sans=None, client=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    # Key identifiers: strict verifiers (Python 3.13's ssl among them) ask for both.
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if not ca:
        usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class PKI:
    """A CA, a server certificate for localhost/127.0.0.1, a client certificate, and a CA nobody trusts."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Funnel test CA")])
        self.ca = certificate("Funnel test CA", self.ca_key, self.ca_name, self.ca_key, ca=True)
        self.write("ca.pem", pem(self.ca))
        other_key = ec.generate_private_key(ec.SECP256R1())
        other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other CA")])
        self.write("other-ca.pem", pem(certificate("Other CA", other_key, other_name, other_key, ca=True)))
        client_key = ec.generate_private_key(ec.SECP256R1())
        self.write("client.pem", pem(certificate("shop-backend", client_key, self.ca_name, self.ca_key, client=True)))
        self.write("client-key.pem", pem(client_key))
        # Signed by the same CA but naming a subject no allow-list admits.
        stranger_key = ec.generate_private_key(ec.SECP256R1())
        self.write("stranger.pem", pem(certificate("intern-laptop", stranger_key, self.ca_name, self.ca_key, client=True)))
        self.write("stranger-key.pem", pem(stranger_key))
        # Named right, but a server certificate: not for client authentication.
        self.write("server-usage.pem", pem(certificate("shop-backend", stranger_key, self.ca_name, self.ca_key)))
        self.serial = self.issue_server()

    def issue_server(self):
        key = ec.generate_private_key(ec.SECP256R1())
        sans = [x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
        cert = certificate("localhost", key, self.ca_name, self.ca_key, sans=sans)
        # Key first, then the certificate: a reload between the two writes sees a mismatched pair and keeps the old.
        self.write("server-key.pem", pem(key))
        self.write("server.pem", pem(cert))
        return cert.serial_number

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()


class Credentials:
    """API keys (the server gets their SHA-256) and JWTs signed with ES256, RS256 and EdDSA."""

    def __init__(self, directory):
        self.es = ec.generate_private_key(ec.SECP256R1())
        self.rs = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ed = ed25519.Ed25519PrivateKey.generate()
        keys = []
        for kid, key, alg, algorithm in [("es", self.es, "ES256", jwt.algorithms.ECAlgorithm),
                                         ("rs", self.rs, "RS256", jwt.algorithms.RSAAlgorithm),
                                         ("ed", self.ed, "EdDSA", jwt.algorithms.OKPAlgorithm)]:
            jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
            jwk.update({"kid": kid, "alg": alg, "use": "sig"})
            keys.append(jwk)
        self.jwks = os.path.join(directory, "jwks.json")
        with open(self.jwks, "w") as f:
            json.dump({"keys": keys}, f)
        self.keys = {name: "fk_" + secrets.token_urlsafe(32) for name in ("rec", "ev", "ops", "flood", "all")}
        scopes = {"rec": "recommend", "ev": "events:write", "ops": "admin+metrics", "flood": "recommend",
                  "all": "recommend+events:write+admin+metrics"}
        self.api_keys = ",".join(f"{n}:{hashlib.sha256(k.encode()).hexdigest()}:{scopes[n]}" for n, k in self.keys.items())

    def token(self, scope, kid="es", key=None, alg=None, **claims):
        now = int(time.time())
        body = {"sub": f"caller-{kid}", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "iat": now, "scope": scope}
        body.update(claims)
        key = key or {"es": self.es, "rs": self.rs, "ed": self.ed}[kid]
        alg = alg or {"es": "ES256", "rs": "RS256", "ed": "EdDSA"}[kid]
        return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers={"kid": kid})

    def kinds(self):
        """(name, credential or None, scopes it proves, or None when it proves nothing)."""
        now = int(time.time())
        forged = ec.generate_private_key(ec.SECP256R1())
        return [
            ("none", None, None),
            ("unknown API key", "fk_" + secrets.token_urlsafe(32), None),
            ("expired JWT", self.token("recommend events:write admin metrics", exp=now - 3600), None),
            ("JWT for another audience", self.token("recommend events:write admin metrics", aud="someone-else"), None),
            ("JWT of another issuer", self.token("recommend events:write admin metrics", iss="https://evil.example"), None),
            ("JWT with a wrong signature", self.token("recommend events:write admin metrics", key=forged), None),
            ("JWT not valid yet", self.token("recommend events:write admin metrics", nbf=now + 3600), None),
            ("HS256 JWT", jwt.encode({"sub": "x", "exp": now + 600, "scope": "admin"}, "a-shared-secret-of-forty-bytes-or-more!!",
                                     algorithm="HS256", headers={"kid": "es"}), None),
            ("ES256 JWT, recommend", self.token("recommend"), {"recommend"}),
            ("RS256 JWT, events:write", self.token("events:write", kid="rs"), {"events:write"}),
            ("EdDSA JWT, admin metrics", self.token("admin metrics", kid="ed"), {"admin", "metrics"}),
            ("API key, recommend", self.keys["rec"], {"recommend"}),
            ("API key, events:write", self.keys["ev"], {"events:write"}),
            ("API key, admin metrics", self.keys["ops"], {"admin", "metrics"}),
        ]


class Server:
    def __init__(self, binary, directory, name, args):
        self.port, self.http, self.admin = free_port(), free_port(), free_port()
        self.log = os.path.join(directory, f"{name}.log")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", str(self.port), "--http-port", str(self.http), "--admin-port", str(self.admin),
             "--dashboard-port", "0"] + args,
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            text = open(self.log).read()
            if "funnel serving" in text:
                # The dashboard listener's address, from the start-up line (it takes any free port).
                match = re.search(r"dashboard=(https?://[0-9.:]+)/dashboard", text)
                self.dashboard = match.group(1) if match else None
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        sys.exit(f"security-check: {name} server did not start:\n{open(self.log).read()}")

    def post(self, path, body):
        """POSTs `body` as JSON to the HTTP listener (plain HTTP); returns the decoded answer."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.http}{path}", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def status_code(call):
    try:
        call()
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/funnel"
    directory = tempfile.mkdtemp(prefix="funnel-security-check-")
    os.makedirs(os.path.join(directory, "protos"))
    pb, pb_grpc, ev, ev_grpc, adm, adm_grpc = api_check.load_protos(os.path.join(directory, "protos"))
    r = api_check.Report()
    pki, creds = PKI(directory), Credentials(directory)
    tls_args = ["--tls-cert", pki.path("server.pem"), "--tls-key", pki.path("server-key.pem")]
    auth_args = ["--set", f"auth.apiKeys={creds.api_keys}", "--set", f"auth.jwksFile={creds.jwks}",
                 "--set", f"auth.issuer={ISSUER}", "--set", f"auth.audience={AUDIENCE}",
                 "--set", f"limits.callerRates=recommend={FLOOD_RATE}/{FLOOD_RATE}", "--set", "limits.callerConcurrency=6"]

    # A listener on every address without authentication: refused before it loads anything.
    refused = subprocess.run([binary, "serve", "--host", "0.0.0.0", "--port", "0", "--http-port=-1", "--admin-port=-1", "--dashboard-port=-1"],
                             capture_output=True, text=True, timeout=120)
    r.check("open non-loopback listener refused", refused.returncode != 0 and "not a loopback address" in refused.stderr,
            f"exit {refused.returncode}: {refused.stderr[-400:]}")

    audit_file = os.path.join(directory, "admin-audit.jsonl")
    server = Server(binary, directory, "tls-auth", tls_args + auth_args + ["--set", f"audit.file={audit_file}"])
    try:
        ca = pki.read("ca.pem")
        secure = grpc.ssl_channel_credentials(root_certificates=ca)
        public = grpc.secure_channel(f"localhost:{server.port}", secure)
        admin = grpc.secure_channel(f"localhost:{server.admin}", secure)
        grpc.channel_ready_future(public).result(timeout=30)
        recommender, events = pb_grpc.RecommenderStub(public), ev_grpc.EventCollectorStub(public)
        health, admin_health = health_pb2_grpc.HealthStub(public), health_pb2_grpc.HealthStub(admin)
        admin_stub, admin_on_public = adm_grpc.AdminStub(admin), adm_grpc.AdminStub(public)
        now_ms = int(time.time() * 1000)
        counter = [0]

        def event():
            counter[0] += 1
            return ev.Event(event_id=f"sec-{now_ms}-{counter[0]}", user_id="sec-user", item_id=item, type=ev.EVENT_TYPE_VIEW)

        first = recommender.Recommend(pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=3), timeout=10,
                                      metadata=[("authorization", f"Bearer {creds.keys['rec']}")])
        item = first.items[0].item_id
        rpcs = [
            ("Recommender.Recommend", "recommend", lambda md: recommender.Recommend(
                pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=3), metadata=md, timeout=10)),
            ("Recommender.Search", "recommend", lambda md: recommender.Search(
                pb.SearchRequest(query=first.items[0].item_id, count=3), metadata=md, timeout=10)),
            ("Recommender.BatchRecommend", "recommend", lambda md: list(recommender.BatchRecommend(iter([
                pb.BatchRecommendRequest(row_id="1", request=pb.RecommendRequest(user_id="U-2", scene=pb.SCENE_EMAIL, count=2))]),
                metadata=md, timeout=10))),
            ("EventCollector.Track", "events:write", lambda md: events.Track(ev.TrackRequest(events=[event()]), metadata=md, timeout=10)),
            ("Admin.Status (admin listener)", "admin", lambda md: admin_stub.Status(adm.StatusRequest(), metadata=md, timeout=10)),
            ("Admin.ExperimentReport (admin listener)", "admin", lambda md: admin_stub.ExperimentReport(
                adm.ExperimentReportRequest(), metadata=md, timeout=10)),
            ("Health.Check", None, lambda md: health.Check(health_pb2.HealthCheckRequest(), metadata=md, timeout=10)),
            ("Health.Check (admin listener)", None, lambda md: admin_health.Check(health_pb2.HealthCheckRequest(), metadata=md, timeout=10)),
        ]
        kinds = creds.kinds()
        for rpc, scope, call in rpcs:
            for name, credential, scopes in kinds:
                md = [("authorization", f"Bearer {credential}")] if credential else []
                want = (grpc.StatusCode.OK if scope is None else grpc.StatusCode.UNAUTHENTICATED if scopes is None
                        else grpc.StatusCode.OK if scope in scopes else grpc.StatusCode.PERMISSION_DENIED)
                got = status_code(lambda: call(md))
                r.check(f"gRPC {rpc} with {name}", got == want, f"got {got}, want {want}")
        # The audit log: every Admin call of the matrix, allowed or refused, with its caller and result;
        # ForgetUser's user id only as a hash.
        forget = status_code(lambda: admin_stub.ForgetUser(adm.ForgetUserRequest(user_id="audited-user"), timeout=10,
                                                           metadata=[("authorization", f"Bearer {creds.keys['ops']}")]))
        r.check("ForgetUser with the admin scope", forget == grpc.StatusCode.OK, f"got {forget}")
        time.sleep(0.5)
        records = [json.loads(line) for line in open(audit_file)]
        admin_calls = len([1 for rpc, scope, _ in rpcs if scope == "admin"]) * len(kinds) + 1
        r.check("every Admin call is in the audit log", len(records) == admin_calls, f"{len(records)} records, {admin_calls} calls")
        allowed = [x for x in records if x["result"] == "OK"]
        r.check("audit records name the caller and the result",
                {x["caller"] for x in allowed} == {"ops", "caller-ed"} and {x["credential"] for x in allowed} == {"api_key", "jwt"}
                and {x["result"] for x in records} == {"OK", "UNAUTHENTICATED", "PERMISSION_DENIED"}, f"{records[:3]}")
        erased = [x for x in records if x["rpc"] == "funnel.v1.Admin/ForgetUser"]
        r.check("the audit log holds a hash of an erased user id, not the id",
                len(erased) == 1 and erased[0]["arguments"] == {"user_id_sha256": hashlib.sha256(b"audited-user").hexdigest()}
                and "audited-user" not in open(audit_file).read(), f"{erased}")
        r.check("the audit file is private", oct(os.stat(audit_file).st_mode & 0o777) == "0o600", oct(os.stat(audit_file).st_mode))
        got = status_code(lambda: admin_on_public.Status(adm.StatusRequest(), timeout=10,
                                                        metadata=[("authorization", f"Bearer {creds.keys['ops']}")]))
        r.check("Admin is not on the public listener", got == grpc.StatusCode.UNIMPLEMENTED, f"got {got}")

        # Per-caller limits: a caller flooding from 12 threads is refused (its rate and its calls in
        # flight) with a retry hint, while another caller at 20 calls/s is answered within its SLO.
        flood_md, polite_md = [("authorization", f"Bearer {creds.keys['flood']}")], [("authorization", f"Bearer {creds.keys['rec']}")]
        outcomes, latencies, polite_errors, done = {}, [], [], threading.Event()
        lock = threading.Lock()

        def flood():
            while not done.is_set():
                try:
                    recommender.Recommend(pb.RecommendRequest(user_id="U-9", scene=pb.SCENE_HOME, count=3), metadata=flood_md, timeout=10)
                    code, pushback = grpc.StatusCode.OK, True
                except grpc.RpcError as e:
                    code = e.code()
                    pushback = any(k == "grpc-retry-pushback-ms" for k, _ in (e.trailing_metadata() or ()))
                with lock:
                    outcomes[(code, pushback)] = outcomes.get((code, pushback), 0) + 1

        flooders = [threading.Thread(target=flood, daemon=True) for _ in range(12)]
        flood_started = time.perf_counter()
        for t in flooders:
            t.start()
        time.sleep(0.5)
        for i in range(60):
            started = time.perf_counter()
            try:
                recommender.Recommend(pb.RecommendRequest(user_id=f"U-{i}", scene=pb.SCENE_HOME, count=3), metadata=polite_md, timeout=10)
                latencies.append((time.perf_counter() - started) * 1000)
            except grpc.RpcError as e:
                polite_errors.append(e.code())
            time.sleep(max(0, 0.05 - (time.perf_counter() - started)))
        done.set()
        for t in flooders:
            t.join(timeout=30)
        flood_seconds = time.perf_counter() - flood_started
        refused = sum(n for (code, pushback), n in outcomes.items() if code == grpc.StatusCode.RESOURCE_EXHAUSTED and pushback)
        answered = outcomes.get((grpc.StatusCode.OK, True), 0)
        others = {str(c): n for (c, p), n in outcomes.items() if c not in (grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED) or not p}
        r.check("a flooding caller is refused with a retry hint", refused > 0 and not others, f"{outcomes}")
        r.check("a flooding caller gets no more than its rate", answered <= FLOOD_RATE * (flood_seconds + 1),
                f"{answered} answered in {flood_seconds:.1f} s at {FLOOD_RATE}/s (burst {FLOOD_RATE})")
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("inf")
        r.check(f"another caller meanwhile: no error, p99 under {POLITE_P99_MS} ms", not polite_errors and p99 < POLITE_P99_MS,
                f"errors {polite_errors}, p50 {latencies[len(latencies) // 2] if latencies else 0:.1f} ms, p99 {p99:.1f} ms")
        print(f"limits: flood {answered} answered, {refused} refused in {flood_seconds:.1f} s; polite caller p50 {latencies[len(latencies) // 2]:.1f} ms, p99 {p99:.1f} ms over {len(latencies)} calls")

        # HTTPS: the same credentials on every route.
        context = ssl.create_default_context(cadata=ca.decode())
        routes = [
            ("POST", "/v1/recommend", {"user_id": "U-1", "scene": "home", "count": 3}, "recommend"),
            ("POST", "/v1/search", {"query": item, "count": 3}, "recommend"),
            ("GET", f"/v1/items/{item}", None, "recommend"),
            ("POST", "/v1/events", lambda: {"events": [{"event_id": event().event_id, "user_id": "sec-user", "item_id": item,
                                                         "type": "view"}]}, "events:write"),
            ("GET", "/metrics", None, "metrics"),
            ("GET", "/healthz", None, None),
            ("GET", "/readyz", None, None),
        ]
        for method, path, body, scope in routes:
            for name, credential, scopes in kinds:
                headers = {"content-type": "application/json"}
                if credential:
                    headers["authorization"] = f"Bearer {credential}"
                payload = body() if callable(body) else body
                request = urllib.request.Request(f"https://localhost:{server.http}{path}", method=method, headers=headers,
                                                 data=json.dumps(payload).encode() if payload is not None else None)
                try:
                    got = urllib.request.urlopen(request, context=context, timeout=10).status
                except urllib.error.HTTPError as e:
                    got = e.code
                want = 200 if scope is None else 401 if scopes is None else 200 if scope in scopes else 403
                r.check(f"HTTPS {method} {path} with {name}", got == want, f"got {got}, want {want}")
        key_header = urllib.request.Request(f"https://localhost:{server.http}/metrics", headers={"x-api-key": creds.keys["ops"]})
        r.check("HTTPS X-API-Key header", urllib.request.urlopen(key_header, context=context, timeout=10).status == 200)

        # Handshakes: another CA, TLS 1.2, TLS 1.3.
        wrong = grpc.secure_channel(f"localhost:{server.port}", grpc.ssl_channel_credentials(root_certificates=pki.read("other-ca.pem")))
        got = status_code(lambda: health_pb2_grpc.HealthStub(wrong).Check(health_pb2.HealthCheckRequest(), timeout=5))
        r.check("a client trusting another CA fails the handshake", got == grpc.StatusCode.UNAVAILABLE, f"got {got}")
        wrong.close()
        for version, ok in (("-tls1_2", False), ("-tls1_3", True)):
            for port in (server.port, server.http):
                out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", version, "-CAfile", pki.path("ca.pem")],
                                     input="", capture_output=True, text=True, errors="replace", timeout=30)
                served = out.returncode == 0 and "Verify return code: 0 (ok)" in out.stdout
                r.check(f"openssl s_client {version} on port {port} {'served' if ok else 'refused'}", served == ok,
                        (out.stdout + out.stderr)[-300:])

        # Rotation: a stream opened before goes on; new connections get the new certificate.
        rows, answers, stop = [], [], threading.Event()

        def requests():
            for i in range(200):
                if stop.is_set():
                    return
                rows.append(i)
                yield pb.BatchRecommendRequest(row_id=str(i), request=pb.RecommendRequest(user_id=f"U-{i}", scene=pb.SCENE_EMAIL, count=2))
                time.sleep(0.05)

        stream = recommender.BatchRecommend(requests(), metadata=[("authorization", f"Bearer {creds.keys['rec']}")], timeout=60)
        reader = threading.Thread(target=lambda: [answers.append(a) for a in stream], daemon=True)
        reader.start()
        time.sleep(1)
        before = len(answers)
        old_serial = pki.serial
        new_serial = pki.issue_server()
        server.process.send_signal(signal.SIGHUP)

        def served_serial():
            raw = ssl.create_default_context(cadata=ca.decode())
            raw.set_alpn_protocols(["h2"])
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                with raw.wrap_socket(sock, server_hostname="localhost") as tls:
                    return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number

        deadline, serial = time.time() + 10, None
        while time.time() < deadline:
            serial = served_serial()
            if serial == new_serial:
                break
            time.sleep(0.2)
        r.check("a rotated certificate is served to new connections", serial == new_serial and new_serial != old_serial,
                f"served {serial}, new {new_serial}, old {old_serial}")
        time.sleep(1)
        stop.set()
        reader.join(timeout=30)
        errors = [a for a in answers if a.WhichOneof("result") != "response"]
        r.check("a stream opened before the rotation went on answering", len(answers) > before + 5 and not errors
                and len(answers) == len(rows), f"{before} answers before, {len(answers)} of {len(rows)} rows at the end, {len(errors)} errors")
        public.close()
        admin.close()
    finally:
        server.stop()

    # The project's own clients over mutual TLS with a credential: the API check (grpcio and urllib)
    # and the lean load client.
    clients = Server(binary, directory, "clients", tls_args + [
        "--tls-client-ca", pki.path("ca.pem"), "--set", f"auth.apiKeys={creds.api_keys}",
        "--set", f"limits.callerConnections={CONNECTIONS_PER_CALLER}"])
    try:
        # One caller's connections are capped; closing one makes room for another.
        mtls = grpc.ssl_channel_credentials(root_certificates=pki.read("ca.pem"), private_key=pki.read("client-key.pem"),
                                            certificate_chain=pki.read("client.pem"))
        key = [("authorization", f"Bearer {creds.keys['rec']}")]

        def connection():
            # Its own subchannel pool: a connection of its own, not one shared with the other channels.
            return grpc.secure_channel(f"localhost:{clients.port}", mtls, options=[("grpc.use_local_subchannel_pool", 1)])

        def call(channel):
            return status_code(lambda: pb_grpc.RecommenderStub(channel).Recommend(
                pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=3), metadata=key, timeout=10))
        held = [connection() for _ in range(CONNECTIONS_PER_CALLER)]
        codes = [call(c) for c in held]
        extra = connection()
        refused = call(extra)
        r.check(f"a caller's connection {CONNECTIONS_PER_CALLER + 1} is refused, the first {CONNECTIONS_PER_CALLER} served",
                all(c == grpc.StatusCode.OK for c in codes) and refused == grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"held {codes}, extra {refused}")
        held[0].close()
        deadline, again = time.time() + 10, None
        while time.time() < deadline:
            again = call(extra)
            if again == grpc.StatusCode.OK:
                break
            time.sleep(0.2)
        r.check("a closed connection gives its place back", again == grpc.StatusCode.OK, f"got {again}")
        for c in held[1:] + [extra]:
            c.close()

        tls_client = ["--ca", pki.path("ca.pem"), "--cert", pki.path("client.pem"), "--key", pki.path("client-key.pem"),
                      "--credential", creds.keys["all"]]
        check = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api-check.py"),
                                "--target", f"localhost:{clients.port}", "--admin", f"localhost:{clients.admin}",
                                "--http", f"localhost:{clients.http}", "--malformed", "100"] + tls_client,
                               capture_output=True, text=True, timeout=600)
        tail = (check.stdout + check.stderr).strip().splitlines()[-3:]
        r.check("api-check over mutual TLS with an API key passes", check.returncode == 0, " | ".join(tail))
        load = subprocess.run([binary, "load", "--target", f"localhost:{clients.port}", "--rate", "40", "--duration", "3s",
                               "--client", "nio-http2", "--slo", "errors<0.1%", "--quiet"] + tls_client,
                              capture_output=True, text=True, timeout=120)
        r.check("funnel load (nio-http2) over mutual TLS with an API key meets errors<0.1%", load.returncode == 0,
                (load.stdout + load.stderr)[-400:])
        keyless = subprocess.run([binary, "load", "--target", f"localhost:{clients.port}", "--rate", "50", "--duration", "1s",
                                  "--client", "nio-http2", "--slo", "errors<0.1%", "--quiet"] + tls_client[:6],
                                 capture_output=True, text=True, timeout=120)
        r.check("funnel load without the credential is refused", keyless.returncode != 0, (keyless.stdout + keyless.stderr)[-300:])
    finally:
        clients.stop()

    # Mutual TLS: a client CA makes a client certificate required.
    mutual = Server(binary, directory, "mtls", tls_args + ["--tls-client-ca", pki.path("ca.pem")])
    try:
        ca = pki.read("ca.pem")
        anonymous = grpc.secure_channel(f"localhost:{mutual.port}", grpc.ssl_channel_credentials(root_certificates=ca))
        got = status_code(lambda: pb_grpc.RecommenderStub(anonymous).Recommend(
            pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=3), timeout=5))
        r.check("mTLS: a client without a certificate is refused", got == grpc.StatusCode.UNAVAILABLE, f"got {got}")
        anonymous.close()
        identified = grpc.secure_channel(f"localhost:{mutual.port}", grpc.ssl_channel_credentials(
            root_certificates=ca, private_key=pki.read("client-key.pem"), certificate_chain=pki.read("client.pem")))
        got = status_code(lambda: pb_grpc.RecommenderStub(identified).Recommend(
            pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=3), timeout=10))
        r.check("mTLS: a client with a certificate of the CA is served", got == grpc.StatusCode.OK, f"got {got}")
        identified.close()
    finally:
        mutual.stop()

    # Mutual TLS with allowed subjects: the CA's signature is not enough, the certificate must name one.
    allowed = Server(binary, directory, "mtls-subjects", tls_args + [
        "--tls-client-ca", pki.path("ca.pem"), "--tls-client-subjects", "batch.shop.example;shop-backend"])
    try:
        ca = pki.read("ca.pem")
        for label, cert, key, want in [
            ("an allowed subject is served", "client.pem", "client-key.pem", grpc.StatusCode.OK),
            ("a subject not allowed is refused", "stranger.pem", "stranger-key.pem", grpc.StatusCode.UNAVAILABLE),
            ("an allowed name on a server certificate is refused", "server-usage.pem", "stranger-key.pem", grpc.StatusCode.UNAVAILABLE),
        ]:
            channel = grpc.secure_channel(f"localhost:{allowed.port}", grpc.ssl_channel_credentials(
                root_certificates=ca, private_key=pki.read(key), certificate_chain=pki.read(cert)))
            got = status_code(lambda: pb_grpc.RecommenderStub(channel).Recommend(
                pb.RecommendRequest(user_id="U-1", scene=pb.SCENE_HOME, count=3), timeout=10))
            r.check(f"mTLS subjects, gRPC: {label}", got == want, f"got {got}")
            channel.close()
        for label, cert, key, served in [("an allowed subject is served", "client.pem", "client-key.pem", True),
                                         ("a subject not allowed is refused", "stranger.pem", "stranger-key.pem", False)]:
            context = ssl.create_default_context(cafile=pki.path("ca.pem"))
            context.load_cert_chain(pki.path(cert), pki.path(key))
            try:
                with urllib.request.urlopen(f"https://localhost:{allowed.http}/healthz", context=context, timeout=10) as response:
                    ok = response.status == 200
            except (urllib.error.URLError, ssl.SSLError, ConnectionError) as e:
                ok = False
                why = e
            r.check(f"mTLS subjects, HTTPS: {label}", ok == served, "" if ok == served else f"got {'served' if ok else why}")
        log = open(allowed.log).read()
        r.check("mTLS subjects: the refusal is logged with its reason", "names no allowed subject" in log, log[-400:])
    finally:
        allowed.stop()

    print(f"{r.passed} passed, {r.failed} failed")
    sys.exit(0 if r.failed == 0 else 1)


if __name__ == "__main__":
    main()
