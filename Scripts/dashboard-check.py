#!/usr/bin/env python3
"""The live dashboard with a real browser: Debian's chromium, headless, driven by selenium and
chromium-driver, against `funnel serve`.

1. Orders posted to the server's JSON API change the GMV tile on the open page within 1 s (each of
   20 orders, posted one by one, is timed from the POST to the tile's new text).
2. With --redis URL: a second replica sharing that Redis is started, orders go to it, and the
   first replica's page shows them: every replica's dashboard shows the fleet.
3. `funnel simulate` drives shop traffic with a payment outage; the alarm rule fires within its
   window plus its duration plus 2 s of the outage's start, resolves after recovery, and a local
   webhook receiver hears exactly one signed `firing` and one `resolved` (HMAC-SHA256 checked).
4. --screenshot PATH saves the page under that traffic (docs/dashboard.png is made this way).

Usage: dashboard-check.py FUNNEL_BINARY [--redis URL] [--screenshot PATH]
"""
import argparse, hashlib, hmac, http.server, importlib, json, os, statistics, subprocess, sys, tempfile, threading, time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
security_check = importlib.import_module("security-check")  # its `Server`: funnel serve on free ports

WINDOW, FOR = 6, 4  # the outage rule: cancelled per created over WINDOW s above 0.5 for FOR s


class Webhooks(http.server.BaseHTTPRequestHandler):
    """Records each POST with its arrival time; checks the signature against SECRET."""
    received = []
    secret = b""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        timestamp = self.headers.get("X-Funnel-Timestamp", "")
        expected = "sha256=" + hmac.new(self.secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(expected, self.headers.get("X-Funnel-Signature", ""))
        Webhooks.received.append((time.time(), json.loads(body), signed, self.headers.get("X-Funnel-Dedup-Key")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def browser():
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1500"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_live(driver, url):
    driver.get(url + "/dashboard")
    deadline = time.time() + 30
    while time.time() < deadline:
        if driver.find_element(By.ID, "status").text == "live" and driver.find_element(By.ID, "gmv").text != "–":
            return
        time.sleep(0.1)
    raise SystemExit(f"dashboard-check: the page at {url} never went live: status '{driver.find_element(By.ID, 'status').text}'")


def time_orders(driver, server, label, count=20):
    """Posts `count` paid orders one by one; returns the seconds from each POST to the GMV tile's change."""
    delays = []
    for i in range(count):
        before = driver.find_element(By.ID, "gmv").text
        order = {"order_id": f"check-{label}-{i}-{time.time_ns()}", "state": "paid", "customer_id": f"C{i}", "amount": 1000 + i,
                 "currency": "GBP", "country": "GB", "source": "direct",
                 "lines": [{"item_id": "SKU-100042", "quantity": 1, "unit_price": 1000 + i}]}
        start = time.monotonic()
        outcome = server.post("/v1/orders", {"orders": [order]})
        assert outcome["accepted"] == 1, outcome
        while driver.find_element(By.ID, "gmv").text == before:
            if time.monotonic() - start > 5:
                raise SystemExit(f"dashboard-check: order {i} ({label}) did not reach the GMV tile in 5 s")
            time.sleep(0.005)
        delays.append(time.monotonic() - start)
        time.sleep(0.3)
    return delays


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--redis")
    parser.add_argument("--screenshot")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="funnel-dashboard-")
    Webhooks.secret = os.urandom(16).hex().encode()
    secret_file = os.path.join(directory, "webhook-secret")
    open(secret_file, "w").write(Webhooks.secret.decode())
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Webhooks)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    config = os.path.join(directory, "funnel.json")
    json.dump({
        "dashboard": {"currency": "GBP", "webhooks": f"http://127.0.0.1:{receiver.server_address[1]}/alarms",
                      "webhookSecretFile": secret_file},
        "alarms": [{"name": "payment-outage", "kind": "above", "indicator": "orders.cancelled", "per": "orders.created",
                    "minimumDenominator": 4, "windowSeconds": WINDOW, "threshold": 0.5, "forSeconds": FOR,
                    "severity": "critical", "dedupKey": "payments"}],
    }, open(config, "w"))
    common = ["--config", config] + (["--redis", args.redis] if args.redis else [])
    servers = [security_check.Server(args.binary, directory, "replica-1", common)]
    driver = None
    try:
        if args.redis:
            servers.append(security_check.Server(args.binary, directory, "replica-2", common))
        driver = browser()
        wait_live(driver, servers[0].dashboard)
        delays = time_orders(driver, servers[0], "own")
        print(f"dashboard-check: order posted -> GMV tile changed: p50 {statistics.median(delays) * 1000:.0f} ms, "
              f"max {max(delays) * 1000:.0f} ms over {len(delays)} orders")
        assert max(delays) < 1.0, f"an order took {max(delays):.3f} s to reach the page"
        if len(servers) > 1:
            fleet = time_orders(driver, servers[1], "fleet", count=10)
            print(f"dashboard-check: order posted to replica 2 -> replica 1's page: p50 {statistics.median(fleet) * 1000:.0f} ms, "
                  f"max {max(fleet) * 1000:.0f} ms")
            assert max(fleet) < 1.0, f"an order through the other replica took {max(fleet):.3f} s to reach the page"

        # A payment outage 15 s into 45 s of traffic, for 15 s.
        outage_at, outage_for = 15, 15
        Webhooks.received.clear()
        simulate = subprocess.Popen([args.binary, "simulate", "--target", f"http://127.0.0.1:{servers[-1].http}",
                                     "--orders-per-second", "4", "--duration", "45s", "--outage", f"{outage_at},{outage_for}",
                                     "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if args.screenshot:
            time.sleep(outage_at + WINDOW + FOR + 3)
            driver.save_screenshot(args.screenshot)
            print(f"dashboard-check: screenshot saved to {args.screenshot}")
        output, _ = simulate.communicate(timeout=180)
        report = json.loads(output[output.index("{"):])
        assert report["failedCalls"] == 0, report
        time.sleep(WINDOW + 3)
        # The outage as the simulation lived it: the wall time of its first order placed during it.
        outage_start = report["outageStartedMs"] / 1000
        events = [(t - outage_start, body["kind"], signed, key) for t, body, signed, key in Webhooks.received
                  if body["rule"] == "payment-outage"]
        print("dashboard-check: webhook notifications (s after the outage began):",
              ", ".join(f"{kind} at {t:.1f} s" for t, kind, _, _ in events))
        kinds = [kind for _, kind, _, _ in events]
        assert kinds == ["firing", "resolved"], f"expected one firing and one resolved, got {kinds}"
        assert all(signed for _, _, signed, _ in events), "a notification's signature did not verify"
        assert all(key == "payments" for _, _, _, key in events), "the de-duplication key is missing"
        fired = events[0][0]
        assert 0 < fired <= WINDOW + FOR + 2, f"fired {fired:.1f} s after the outage began (rule: {WINDOW} s window, {FOR} s)"
        assert events[1][0] > outage_for, "resolved before the outage ended"
        print(f"dashboard-check: {report['ordersCreated']} orders ({report['ordersCancelled']} cancelled), {report['events']} events "
              f"simulated; the alarm fired {fired:.1f} s into the outage (bound {WINDOW + FOR + 2} s) and resolved after it")
    finally:
        if driver:
            driver.quit()
        for server in servers:
            server.stop()
        receiver.shutdown()


if __name__ == "__main__":
    main()
