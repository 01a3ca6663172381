/// The dashboard's page and script, served as they are (no build step): plain HTML, CSS and
/// JavaScript; the charts are Chart.js's (Debian's libjs-chart.js), served beside them. The script
/// loads the full view (`GET /v1/dashboard`), then reads the server-sent events of
/// `/v1/dashboard/stream` with `fetch` (so an API key or token can go in a header, which
/// `EventSource` cannot send): `tick` messages move the tiles and the per-second charts, `view`
/// messages everything else.
enum DashboardAssets {
  static let page = Array(#"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Funnel · live operations</title>
<style>
  :root { --bg:#0f1419; --panel:#182029; --text:#e6edf3; --muted:#8b98a5; --accent:#4cc2ff; --good:#3fb950; --warn:#d29922; --bad:#f85149; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:baseline; gap:16px; padding:12px 20px; border-bottom:1px solid #26313c; }
  header h1 { font-size:18px; margin:0; }
  header .meta { color:var(--muted); font-size:12px; }
  #status { margin-left:auto; font-size:12px; }
  #status.live { color:var(--good); } #status.down { color:var(--bad); }
  main { padding:16px 20px; display:grid; gap:14px; grid-template-columns:repeat(12, 1fr); }
  .panel { background:var(--panel); border-radius:8px; padding:12px 14px; min-width:0; }
  .panel h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 8px; font-weight:600; }
  .tiles { grid-column:span 12; display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:14px; }
  .tile { background:var(--panel); border-radius:8px; padding:12px 14px; }
  .tile .label { color:var(--muted); font-size:12px; }
  .tile .value { font-size:28px; font-weight:650; font-variant-numeric:tabular-nums; }
  .tile .sub { color:var(--muted); font-size:12px; font-variant-numeric:tabular-nums; }
  .w6 { grid-column:span 6; } .w4 { grid-column:span 4; } .w8 { grid-column:span 8; } .w12 { grid-column:span 12; } .w3 { grid-column:span 3; }
  @media (max-width: 1100px) { .w6, .w4, .w8, .w3 { grid-column:span 12; } }
  .chart { position:relative; height:220px; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; font-size:13px; }
  th { text-align:left; color:var(--muted); font-weight:500; border-bottom:1px solid #26313c; padding:3px 6px; }
  td { padding:3px 6px; border-bottom:1px solid #1f2933; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:220px; }
  td.n, th.n { text-align:right; }
  .ci { color:var(--muted); font-size:11px; }
  #alarms { grid-column:span 12; display:flex; flex-wrap:wrap; gap:8px; }
  .alarm { border-radius:6px; padding:6px 10px; background:#1f2933; font-size:13px; }
  .alarm.firing.critical { background:#5a1d1d; border:1px solid var(--bad); }
  .alarm.firing { background:#4d3b12; border:1px solid var(--warn); }
  .alarm.pending { border:1px dashed var(--warn); }
  .alarm .state { font-weight:650; margin-right:6px; text-transform:uppercase; font-size:11px; }
  #nochart { display:none; color:var(--warn); font-size:12px; }
</style>
</head>
<body>
<header>
  <h1>Funnel · live operations</h1>
  <span class="meta" id="clock"></span>
  <span class="meta" id="nochart">Charts need Chart.js (apt-get install libjs-chart.js); tiles and tables still update.</span>
  <span id="status">connecting…</span>
</header>
<main>
  <section id="alarms" aria-label="alarms"></section>
  <section class="tiles" aria-label="last 60 seconds">
    <div class="tile"><div class="label">GMV · last 60 s</div><div class="value" id="gmv">–</div><div class="sub" id="gmv-today"></div></div>
    <div class="tile"><div class="label">Paid orders · last 60 s</div><div class="value" id="orders">–</div><div class="sub" id="orders-rate"></div></div>
    <div class="tile"><div class="label">Average order value</div><div class="value" id="aov">–</div><div class="sub" id="units"></div></div>
    <div class="tile"><div class="label">Created · cancelled · refunded</div><div class="value" id="states">–</div><div class="sub" id="cancel-rate"></div></div>
    <div class="tile"><div class="label">New · returning customers</div><div class="value" id="customers">–</div><div class="sub" id="customers-today"></div></div>
    <div class="tile"><div class="label">Today (UTC)</div><div class="value" id="today">–</div><div class="sub" id="today-orders"></div></div>
  </section>
  <section class="panel w6"><h2>GMV per second</h2><div class="chart"><canvas id="c-gmv"></canvas></div></section>
  <section class="panel w6"><h2>Orders per second: created, paid, cancelled</h2><div class="chart"><canvas id="c-orders"></canvas></div></section>
  <section class="panel w8"><h2>Per minute, last 3 hours</h2><div class="chart"><canvas id="c-minutes"></canvas></div></section>
  <section class="panel w4"><h2>Funnel · last 60 min</h2><div class="chart"><canvas id="c-funnel"></canvas></div></section>
  <section class="panel w4"><h2>By category · last 60 min</h2><table id="t-category"></table></section>
  <section class="panel w4"><h2>By country · last 60 min</h2><table id="t-country"></table></section>
  <section class="panel w4"><h2>By traffic source · last 60 min</h2><table id="t-source"></table></section>
  <section class="panel w3"><h2>Top items · 5 min</h2><table id="t-items5"></table></section>
  <section class="panel w3"><h2>Top items · 60 min</h2><table id="t-items60"></table></section>
  <section class="panel w3"><h2>Top categories · 5 min</h2><table id="t-cats5"></table></section>
  <section class="panel w3"><h2>Top categories · 60 min</h2><table id="t-cats60"></table></section>
  <section class="panel w12"><h2>Recommendations · last 60 min, per scene and arm (95% intervals)</h2><table id="t-recs"></table></section>
  <section class="panel w12"><h2>Searches without results · this replica, most frequent</h2><table id="t-zero"></table></section>
  <section class="panel w12"><h2>Service health · last 10 s, per replica</h2><table id="t-health"></table></section>
</main>
<script src="/dashboard/chart.js" onerror="document.getElementById('nochart').style.display='inline'"></script>
<script src="/dashboard/app.js"></script>
</body>
</html>
"""#.utf8)

  static let script = Array(#"""
"use strict";
const $ = (id) => document.getElementById(id);
let currency = "", charts = {}, secondSeries = { t: [], values: {} };
const money = (x) => (x ?? 0).toLocaleString(undefined, { maximumFractionDigits: x >= 1000 ? 0 : 2 }) + (currency ? " " + currency : "");
const num = (x, d = 0) => (x ?? 0).toLocaleString(undefined, { maximumFractionDigits: d });
const pct = (x) => ((x ?? 0) * 100).toFixed(2) + "%";
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const hhmmss = (t) => new Date(t * 1000).toISOString().substring(11, 19);
const hhmm = (t) => new Date(t * 1000).toISOString().substring(11, 16);
function headers() { const k = sessionStorage.getItem("funnel-credential"); return k ? { Authorization: "Bearer " + k } : {}; }
async function authorised(response) {
  if (response.status !== 401 && response.status !== 403) return true;
  const k = prompt("This dashboard needs an API key or token with the dashboard scope:");
  if (k) { sessionStorage.setItem("funnel-credential", k); location.reload(); }
  return false;
}

function setText(id, text) { const e = $(id); if (e.textContent !== text) e.textContent = text; }

function renderTiles(tiles) {
  const w = tiles.window, d = tiles.today;
  setText("gmv", money(w.gmv)); setText("gmv-today", "today " + money(d.gmv));
  setText("orders", num(w.orders_paid)); setText("orders-rate", num(w.orders_per_second, 2) + " per second");
  setText("aov", money(w.average_order_value)); setText("units", num(w.units) + " units");
  setText("states", `${num(w.orders_created)} · ${num(w.orders_cancelled)} · ${num(w.orders_refunded)}`);
  setText("cancel-rate", w.orders_created > 0 ? "cancelled per created " + pct(w.orders_cancelled / w.orders_created) : "");
  setText("customers", `${num(w.new_customers)} · ${num(w.returning_customers)}`);
  setText("customers-today", `today ${num(d.new_customers)} · ${num(d.returning_customers)}`);
  setText("today", money(d.gmv)); setText("today-orders", num(d.orders_paid) + " paid orders, AOV " + money(d.average_order_value));
}

function renderAlarms(alarms) {
  $("alarms").innerHTML = alarms.map((a) =>
    `<div class="alarm ${esc(a.state)} ${esc(a.severity)}" title="${esc(a.summary)}"><span class="state">${esc(a.state)}</span>${esc(a.rule)}` +
    (a.value != null ? ` <span class="ci">${num(a.value, 3)}</span>` : "") + `</div>`).join("");
}

function table(id, columns, rows) {
  $(id).innerHTML = "<tr>" + columns.map((c) => `<th class="${c.n ? "n" : ""}">${esc(c.title)}</th>`).join("") + "</tr>" +
    rows.map((r) => "<tr>" + columns.map((c) => `<td class="${c.n ? "n" : ""}">${c.html ? c.html(r) : esc(c.value(r))}</td>`).join("") + "</tr>").join("");
}

function lineChart(id, fields, labels, colours, stacked) {
  if (!window.Chart) return null;
  return new Chart($(id), {
    type: "line",
    data: { labels: [], datasets: fields.map((f, i) => ({ label: labels[i], data: [], borderColor: colours[i], backgroundColor: colours[i] + "33",
      pointRadius: 0, borderWidth: 1.5, tension: 0.2, fill: stacked })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, interaction: { intersect: false, mode: "index" },
      scales: { x: { ticks: { color: "#8b98a5", maxTicksLimit: 8 }, grid: { color: "#1f2933" } },
                y: { beginAtZero: true, ticks: { color: "#8b98a5" }, grid: { color: "#1f2933" } } },
      plugins: { legend: { labels: { color: "#e6edf3", boxWidth: 12 } } } },
  });
}

function setSeries(chart, block, fields, label) {
  if (!chart) return;
  chart.data.labels = block.t.map(label);
  fields.forEach((f, i) => { chart.data.datasets[i].data = block.values[f] || []; });
  chart.update("none");
}

function makeCharts() {
  charts.gmv = lineChart("c-gmv", ["amount.paid"], ["GMV"], ["#4cc2ff"], true);
  charts.orders = lineChart("c-orders", ["orders.created", "orders.paid", "orders.cancelled"], ["created", "paid", "cancelled"], ["#8b98a5", "#3fb950", "#f85149"], false);
  charts.minutes = lineChart("c-minutes", ["orders.paid", "orders.cancelled", "events.click"], ["paid orders", "cancelled", "clicks"], ["#3fb950", "#f85149", "#d29922"], false);
  if (window.Chart) charts.funnel = new Chart($("c-funnel"), {
    type: "bar", data: { labels: [], datasets: [{ label: "events", data: [], backgroundColor: "#4cc2ff" }] },
    options: { animation: false, indexAxis: "y", responsive: true, maintainAspectRatio: false,
      scales: { x: { ticks: { color: "#8b98a5" }, grid: { color: "#1f2933" } }, y: { ticks: { color: "#e6edf3" } } }, plugins: { legend: { display: false } } },
  });
}

function renderSeconds() {
  setSeries(charts.gmv, secondSeries, ["amount.paid"], hhmmss);
  setSeries(charts.orders, secondSeries, ["orders.created", "orders.paid", "orders.cancelled"], hhmmss);
}

function applyTick(tick) {
  renderTiles(tick.tiles);
  renderAlarms(tick.alarms);
  setText("clock", new Date(tick.at).toISOString().replace("T", " ").substring(0, 19) + " UTC");
  // Merge the tick's seconds into the 5-minute series: later values of a second replace earlier ones.
  const s = secondSeries, incoming = tick.seconds;
  incoming.t.forEach((t, j) => {
    let i = s.t.indexOf(t);
    if (i < 0) { s.t.push(t); i = s.t.length - 1; for (const f in s.values) s.values[f].push(0); }
    for (const f in incoming.values) { (s.values[f] = s.values[f] || new Array(s.t.length).fill(0))[i] = incoming.values[f][j]; }
  });
  while (s.t.length > 300) { s.t.shift(); for (const f in s.values) s.values[f].shift(); }
  renderSeconds();
}

function render(view) {
  currency = view.currency || "";
  secondSeries = view.series.second;
  applyTick(view.tick);
  setSeries(charts.minutes, view.series.minute, ["orders.paid", "orders.cancelled", "events.click"], hhmm);
  if (charts.funnel) {
    charts.funnel.data.labels = view.funnel.map((s) => s.step + (s.step === "view" ? "" : " (" + pct(s.rate) + ")"));
    charts.funnel.data.datasets[0].data = view.funnel.map((s) => s.count);
    charts.funnel.update("none");
  }
  const dims = [{ title: "name", value: (r) => r.name }, { title: "paid", n: 1, value: (r) => num(r.orders_paid) },
    { title: "GMV", n: 1, value: (r) => money(r.gmv) }, { title: "cancelled", n: 1, value: (r) => num(r.orders_cancelled) },
    { title: "new", n: 1, value: (r) => num(r.new_customers) }];
  for (const d of ["category", "country", "source"]) table("t-" + d, dims, (view.breakdowns[d] || []).slice(0, 10));
  const top = [{ title: "key", value: (r) => r.key }, { title: "GMV", n: 1, value: (r) => money(r.gmv) }];
  table("t-items5", top, view.top.items_5m || []); table("t-items60", top, view.top.items_60m || []);
  table("t-cats5", top, view.top.categories_5m || []); table("t-cats60", top, view.top.categories_60m || []);
  const ci = (x, lo, hi, f) => `${f(x)} <span class="ci">[${f(lo)}, ${f(hi)}]</span>`;
  table("t-recs", [{ title: "scene", value: (r) => r.scene }, { title: "arm", value: (r) => r.arm },
    { title: "impressions", n: 1, value: (r) => num(r.impressions) },
    { title: "CTR", n: 1, html: (r) => ci(r.ctr, r.ctr_low, r.ctr_high, pct) },
    { title: "add to cart", n: 1, html: (r) => ci(r.cart_rate, r.cart_rate_low, r.cart_rate_high, pct) },
    { title: "conversion", n: 1, html: (r) => ci(r.conversion, r.conversion_low, r.conversion_high, pct) },
    { title: "revenue / 1,000", n: 1, html: (r) => ci(r.revenue_per_mille, r.revenue_per_mille_low, r.revenue_per_mille_high, money) }], view.recommendations);
  table("t-zero", [{ title: "query", value: (r) => r.query }, { title: "searches", n: 1, value: (r) => num(r.count) }],
    view.zero_result_searches || []);
  const rows = [];
  for (const h of view.health) for (const r of (h.rpcs.length ? h.rpcs : [{ rpc: "–", per_second: 0, errors: {} }])) rows.push({ h, r });
  table("t-health", [{ title: "replica", value: (x) => x.h.replica }, { title: "rpc", value: (x) => x.r.rpc },
    { title: "calls/s", n: 1, value: (x) => num(x.r.per_second, 1) }, { title: "p50 ms", n: 1, value: (x) => x.r.p50_ms == null ? "–" : num(x.r.p50_ms, 2) },
    { title: "p99 ms", n: 1, value: (x) => x.r.p99_ms == null ? "–" : num(x.r.p99_ms, 2) },
    { title: "errors/s", n: 1, value: (x) => Object.entries(x.r.errors).map(([k, v]) => k + " " + num(v, 2)).join(", ") || "0" },
    { title: "degraded/s", n: 1, value: (x) => Object.entries(x.h.degraded).map(([k, v]) => k + " " + num(v, 2)).join(", ") || "0" },
    { title: "events/s", n: 1, value: (x) => num(x.h.events_per_second, 1) },
    { title: "freshness p99", n: 1, value: (x) => x.h.freshness_p99_ms == null ? "–" : num(x.h.freshness_p99_ms, 1) + " ms" },
    { title: "lag", n: 1, value: (x) => num(x.h.consumer_lag) },
    { title: "stores", value: (x) => Object.entries(x.h.stores).map(([k, v]) => k + " " + v).join(", ") || "embedded" },
    { title: "index · model", value: (x) => x.h.index_version + " · " + x.h.model_version }], rows);
}

async function stream() {
  for (;;) {
    try {
      const response = await fetch("/v1/dashboard/stream", { headers: headers(), cache: "no-store" });
      if (!(await authorised(response))) return;
      if (!response.ok) throw new Error("HTTP " + response.status);
      $("status").textContent = "live"; $("status").className = "live";
      const reader = response.body.getReader(), decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.substring(0, end); buffer = buffer.substring(end + 2);
          let event = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.substring(7);
            else if (line.startsWith("data: ")) data += line.substring(6);
          }
          if (!data) continue;
          const message = JSON.parse(data);
          if (event === "tick") applyTick(message);
          else if (event === "view") render(message);
          else if (event === "unavailable") { $("status").textContent = "store unavailable"; $("status").className = "down"; }
        }
      }
    } catch (e) { /* reconnect below */ }
    $("status").textContent = "reconnecting…"; $("status").className = "down";
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function start() {
  makeCharts();
  try {
    const response = await fetch("/v1/dashboard", { headers: headers(), cache: "no-store" });
    if (!(await authorised(response))) return;
    if (response.ok) render(await response.json());
  } catch (e) { /* the stream's first view fills the page */ }
  stream();
}
start();
"""#.utf8)
}
