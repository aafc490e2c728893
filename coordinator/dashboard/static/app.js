// The coordinator's dashboard: reads GET /usage and GET /status with the key kept in
// sessionStorage, draws SVG charts by hand and refreshes itself. Data only ever enters the page
// as text (textContent, attributes), never as HTML.
"use strict";

const KEY_STORAGE = "mcp-coordinator.api-key";
const REFRESH_MS = 5000;
const BUCKETS = { 900: 15, 3600: 60, 86400: 900, 604800: 3600 };
const COLORS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d"];
const SVG = "http://www.w3.org/2000/svg";

const state = {
  window: 3600,
  paused: false,
  timer: null,
  usage: null,
  status: null,
  recent: [],
  nextPage: "",
  loading: false,
  // A #request=... link opened before the first load shows its detail once the page has data.
  detailPending: true,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

const num = (value) => Number(value || 0);
const fmt = (value, digits = 1) =>
  Number.isFinite(value) ? value.toLocaleString("en", { maximumFractionDigits: digits }) : "–";
const pct = (part, whole) => (whole ? `${fmt((100 * part) / whole)} %` : "–");
const ms = (value) => `${fmt(value, value < 10 ? 2 : 1)} ms`;

function timeLabel(iso, withDate = false) {
  const date = new Date(iso);
  const options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  if (withDate) Object.assign(options, { month: "short", day: "numeric" });
  return date.toLocaleString("en-GB", options);
}

// --- the key ------------------------------------------------------------------------------------

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

function askForKey(reason) {
  stopTimer();
  $("board").hidden = true;
  $("key-form").hidden = false;
  $("key-reason").textContent = reason;
  $("key-input").value = "";
  $("key-input").focus();
}

// 401: no key or a wrong one. 403: a valid key without the scope (or the target) asked for.
class Refused extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function getJson(path, params = {}) {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, value]) => value !== "" && value !== undefined),
  );
  const headers = { Accept: "application/json" };
  if (apiKey()) headers["X-API-Key"] = apiKey();
  const response = await fetch(`${path}${query.size ? `?${query}` : ""}`, { headers });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.status === 401 || response.status === 403) {
    throw new Refused((body && body.message) || `HTTP ${response.status}`, response.status);
  }
  if (!response.ok) {
    throw new Error(`${path}: ${(body && body.message) || `HTTP ${response.status}`}`);
  }
  return body;
}

// --- loading ------------------------------------------------------------------------------------

function filters() {
  return {
    target: $("filter-target").value,
    door: $("filter-door").value,
    outcome: $("filter-outcome").value,
    key_id: $("filter-key").value.trim(),
  };
}

async function refresh() {
  if (state.loading) return;
  state.loading = true;
  try {
    const [usage, status] = await Promise.all([
      getJson("/usage", {
        window_seconds: state.window,
        bucket_seconds: BUCKETS[state.window],
        page_size: 50,
        ...filters(),
      }),
      getJson("/status"),
    ]);
    state.usage = usage;
    state.status = status;
    state.recent = usage.recent;
    state.nextPage = usage.next_page_token;
    showProblem("");
    $("key-form").hidden = true;
    $("board").hidden = false;
    render();
    $("updated").textContent = `Updated ${timeLabel(new Date().toISOString())}`;
    if (state.detailPending) {
      state.detailPending = false;
      openRequestFromHash();
    }
  } catch (error) {
    if (error instanceof Refused && error.status === 403) {
      // The key is valid: keep it, say what it lacks, and stop asking until something changes.
      stopTimer();
      showProblem(
        `This key may not read the dashboard (${error.message}). ` +
          "It needs the dashboard or status scope; use Change key to enter another.",
      );
      return;
    }
    if (error instanceof Refused) {
      const hadKey = Boolean(apiKey());
      sessionStorage.removeItem(KEY_STORAGE);
      if (hadKey) {
        showProblem(`The API key was refused (${error.message}). Enter a valid key.`);
        askForKey("The key you entered was refused. Enter the coordinator's API key.");
      } else {
        showProblem("");
        askForKey("This coordinator needs an API key. It is kept for this tab only.");
      }
      return;
    }
    showProblem(`Could not load: ${error.message}. Retrying.`);
  } finally {
    state.loading = false;
  }
  schedule();
}

function schedule() {
  stopTimer();
  if (!state.paused) state.timer = setTimeout(refresh, REFRESH_MS);
}

function stopTimer() {
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
}

function showProblem(text) {
  $("problem").hidden = !text;
  $("problem").textContent = text;
}

// --- rendering ----------------------------------------------------------------------------------

function render() {
  const usage = state.usage;
  const where = usage.source === "memory" ? "this process's latest requests" : usage.source;
  const from = timeLabel(usage.window_start, true);
  $("source").textContent = `(${where}, ${from} to ${timeLabel(usage.window_end, true)})`;
  renderSummary(usage);
  renderTargets(state.status);
  renderTargetChoices(state.status);
  renderCharts(usage);
  renderBreakdown(usage.breakdown);
  renderRecent();
}

function renderSummary(usage) {
  const s = usage.summary || {};
  const requests = num(s.requests);
  const seconds = (new Date(usage.window_end) - new Date(usage.window_start)) / 1000;
  const tiles = [
    ["Requests", fmt(requests, 0)],
    ["Requests/s", fmt(requests / seconds, 3)],
    ["Errors", pct(num(s.errors), requests)],
    ["Failovers", pct(num(s.failovers), requests)],
    ["Cache hits", pct(num(s.cached), requests)],
    ["Latency p50", requests ? ms(s.latency_p50_ms) : "–"],
    ["Latency p95", requests ? ms(s.latency_p95_ms) : "–"],
    ["Latency p99", requests ? ms(s.latency_p99_ms) : "–"],
  ];
  $("summary").replaceChildren(
    ...tiles.map(([name, value]) => el("div", { class: "tile" }, el("dt", {}, name), el("dd", {}, value))),
  );
}

function renderTargets(status) {
  const names = Object.keys(status.targets || {}).sort();
  $("targets").replaceChildren(
    ...names.map((name) => {
      const t = status.targets[name];
      const health = t.healthy ? "up" : "down";
      return el(
        "article",
        { class: `target ${health}`, "data-target": name, "data-health": health },
        el("h3", {}, name, " ", el("span", { class: `badge ${health}` }, t.healthy ? "up" : "down")),
        el(
          "dl",
          { class: "fields" },
          el("dt", {}, "Breaker"),
          el("dd", { "data-field": "circuit" }, t.circuit.replace("_", " ")),
          el("dt", {}, "In flight"),
          el("dd", { "data-field": "in-flight" }, fmt(num(t.in_flight), 0)),
          el("dt", {}, "Requests"),
          el("dd", {}, `${fmt(num(t.requests), 0)} (${fmt(num(t.errors), 0)} errors)`),
          el("dt", {}, "Latency p50/p95"),
          el("dd", {}, `${ms(t.latency_p50_ms)} / ${ms(t.latency_p95_ms)}`),
          ...(t.healthy ? [] : [el("dt", {}, "Why"), el("dd", {}, t.health_reason || t.last_error || "–")]),
        ),
      );
    }),
  );
}

function renderTargetChoices(status) {
  const select = $("filter-target");
  const chosen = select.value;
  const names = Object.keys(status.targets || {}).sort();
  const present = [...select.options].map((o) => o.value).slice(1);
  if (present.join() === names.join()) return;
  select.replaceChildren(el("option", { value: "" }, "all"), ...names.map((n) => el("option", {}, n)));
  select.value = names.includes(chosen) ? chosen : "";
}

// Bucket start times (ms) of the whole window, so missing buckets count as zero.
function bucketTimes(usage) {
  const start = new Date(usage.window_start).getTime();
  const end = new Date(usage.window_end).getTime();
  const step = usage.bucket_seconds * 1000;
  const first = Math.floor(start / step) * step;
  const times = [];
  for (let t = first; t < end; t += step) times.push(t);
  return times;
}

function seriesBy(points, keyOf, valueOf, times, zero) {
  const lines = new Map();
  for (const p of points) {
    const key = keyOf(p);
    if (!lines.has(key)) lines.set(key, new Map());
    lines.get(key).set(new Date(p.start_time).getTime(), valueOf(p));
  }
  return [...lines.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, values]) => ({
      name,
      values: times.map((t) => (values.has(t) ? values.get(t) : zero)),
    }));
}

function renderCharts(usage) {
  const times = bucketTimes(usage);
  const perSecond = (p) => num(p.requests) / usage.bucket_seconds;
  drawChart($("chart-requests"), {
    title: "Requests per second, by target",
    unit: "/s",
    times,
    lines: seriesBy(usage.series, (p) => p.target || "(none)", perSecond, times, 0),
  });
  drawChart($("chart-doors"), {
    title: "Requests per second, by door",
    unit: "/s",
    times,
    lines: seriesBy(usage.doors, (p) => p.door, perSecond, times, 0),
  });
  drawChart($("chart-latency"), {
    title: "Latency, all targets",
    unit: " ms",
    times,
    lines: ["p50", "p95", "p99"].map((q) => ({
      name: q,
      values: seriesBy(usage.totals, () => q, (p) => p[`latency_${q}_ms`], times, null)[0]?.values ||
        times.map(() => null),
    })),
  });
  const rate = (field) => (p) => (100 * num(p[field])) / Math.max(1, num(p.requests));
  drawChart($("chart-rates"), {
    title: "Errors, failovers and cache hits, % of requests",
    unit: " %",
    times,
    lines: [
      ["errors", "errors"],
      ["failovers", "failovers"],
      ["cache hits", "cached"],
    ].map(([name, field]) => ({
      name,
      values: seriesBy(usage.totals, () => name, rate(field), times, null)[0]?.values ||
        times.map(() => null),
    })),
  });
}

function drawChart(figure, { title, unit, times, lines }) {
  const id = figure.id;
  const width = 560;
  const height = 220;
  const pad = { left: 48, right: 12, top: 12, bottom: 28 };
  const all = lines.flatMap((l) => l.values).filter((v) => v !== null);
  const top = niceMax(Math.max(0, ...all));
  const x = (i) => pad.left + (times.length < 2 ? 0 : (i * (width - pad.left - pad.right)) / (times.length - 1));
  const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);

  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`,
  });
  const titleNode = svg("title", { id: `${id}-title` });
  titleNode.textContent = title;
  const desc = svg("desc", { id: `${id}-desc` });
  chart.append(titleNode, desc);

  for (const fraction of [0, 0.5, 1]) {
    const value = top * fraction;
    chart.append(svg("line", { class: "grid", x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value) }));
    const label = svg("text", { class: "axis", x: pad.left - 6, y: y(value) + 4, "text-anchor": "end" });
    label.textContent = fmt(value, 2);
    chart.append(label);
  }
  for (const i of [0, times.length - 1]) {
    const label = svg("text", {
      class: "axis",
      x: x(i),
      y: height - 8,
      "text-anchor": i === 0 ? "start" : "end",
    });
    label.textContent = timeLabel(new Date(times[i]).toISOString());
    chart.append(label);
  }

  const summaries = [];
  lines.forEach((line, index) => {
    const color = COLORS[index % COLORS.length];
    const group = svg("g", { class: "line", "data-series": line.name, stroke: color, fill: color });
    let path = "";
    line.values.forEach((value, i) => {
      if (value === null) {
        path += " ";
        return;
      }
      path += `${path.endsWith(" ") || path === "" ? "M" : "L"}${x(i).toFixed(1)},${y(value).toFixed(1)}`;
    });
    group.append(svg("path", { d: path.trim().replace(/ +/g, " "), fill: "none" }));
    line.values.forEach((value, i) => {
      if (value === null || value === 0) return;
      const point = svg("circle", { class: "point", cx: x(i), cy: y(value), r: 3 });
      const tip = svg("title");
      tip.textContent = `${line.name} ${timeLabel(new Date(times[i]).toISOString())}: ${fmt(value, 3)}${unit}`;
      point.append(tip);
      group.append(point);
    });
    chart.append(group);
    const present = line.values.filter((v) => v !== null);
    const peak = present.length ? Math.max(...present) : 0;
    summaries.push(`${line.name}: peak ${fmt(peak, 3)}${unit}`);
  });
  desc.textContent = lines.length ? summaries.join("; ") : "No requests in this window.";

  const legend = el(
    "ul",
    { class: "legend" },
    ...lines.map((line, index) =>
      el("li", {}, el("span", { class: "swatch", style: `background:${COLORS[index % COLORS.length]}` }), line.name),
    ),
  );
  const table = el(
    "table",
    {},
    el("caption", {}, `${title} (${unit.trim()}), buckets with data`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Bucket"), ...lines.map((l) => el("th", { scope: "col" }, l.name)))),
    el(
      "tbody",
      {},
      ...times
        .map((t, i) => [t, i])
        .filter(([, i]) => lines.some((l) => l.values[i]))
        .map(([t, i]) =>
          el(
            "tr",
            {},
            el("th", { scope: "row" }, timeLabel(new Date(t).toISOString(), true)),
            ...lines.map((l) => el("td", {}, l.values[i] === null ? "–" : fmt(l.values[i], 3))),
          ),
        ),
    ),
  );
  figure.replaceChildren(
    el("figcaption", { id: `${id}-caption` }, title),
    chart,
    legend,
    el("p", { class: "chart-summary" }, desc.textContent),
    el("details", {}, el("summary", {}, "Data table"), el("div", { class: "scroll" }, table)),
  );
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function renderBreakdown(breakdown) {
  const b = breakdown || {};
  const blocks = [
    ["Rule and reason", (b.by_reason || []).map((r) => [`${r.rule || "(none)"} — ${r.reason || ""}`, num(r.count)])],
    ["Door", (b.by_door || []).map((c) => [c.key, num(c.count)])],
    ["Tool or method", (b.by_operation || []).map((c) => [c.key || "(none)", num(c.count)])],
    ["Key id", (b.by_key_id || []).map((c) => [c.key || "(no key)", num(c.count)])],
    ["Target", (b.by_target || []).map((c) => [c.key || "(none)", num(c.count)])],
  ];
  $("breakdown").replaceChildren(
    ...blocks.map(([title, rows]) => {
      const most = Math.max(1, ...rows.map(([, n]) => n));
      return el(
        "div",
        { class: "bars" },
        el("h3", {}, title),
        rows.length
          ? el(
              "ul",
              {},
              ...rows.map(([label, n]) =>
                el(
                  "li",
                  {},
                  el("span", { class: "bar-label" }, label),
                  el("span", { class: "bar", style: `width:${(100 * n) / most}%` }),
                  el("span", { class: "bar-count" }, fmt(n, 0)),
                ),
              ),
            )
          : el("p", { class: "muted" }, "Nothing yet."),
      );
    }),
  );
}

function renderRecent() {
  const needle = $("recent-filter").value.trim().toLowerCase();
  const rows = state.recent.filter(
    (d) =>
      !needle ||
      [d.request_id, d.target, d.rule, d.tool_or_method, d.door, d.outcome, d.status_code]
        .join(" ")
        .toLowerCase()
        .includes(needle),
  );
  $("recent").tBodies[0].replaceChildren(
    ...rows.map((d) =>
      el(
        "tr",
        { "data-request-id": d.request_id, class: d.outcome === "ok" ? "" : "failed" },
        el("td", {}, timeLabel(d.time)),
        el("td", {}, el("a", { href: `#request=${encodeURIComponent(d.request_id)}`, class: "request-id" }, d.request_id)),
        el("td", {}, d.door),
        el("td", {}, d.tool_or_method || d.operation),
        el("td", {}, d.target || "–"),
        el("td", {}, d.rule || "–"),
        el("td", {}, d.outcome === "ok" ? "ok" : `${d.outcome} (${d.status_code})`),
        el("td", { class: "number" }, ms(d.latency_ms)),
        el("td", {}, [d.failover ? "failover" : "", d.cached ? "cached" : ""].filter(Boolean).join(", ")),
      ),
    ),
  );
  if (!rows.length) {
    $("recent").tBodies[0].append(el("tr", {}, el("td", { colspan: 9, class: "muted" }, "No decisions match.")));
  }
  $("older").hidden = !state.nextPage;
}

async function loadOlder() {
  const page = await getJson("/usage", {
    window_seconds: state.window,
    recent_only: "true",
    page_size: 50,
    page_token: state.nextPage,
    ...filters(),
  });
  state.recent = state.recent.concat(page.recent);
  state.nextPage = page.next_page_token;
  renderRecent();
}

async function showDetail(requestId) {
  let decision = state.recent.find((d) => d.request_id === requestId);
  if (!decision) {
    const found = await getJson("/usage", {
      window_seconds: 604800,
      bucket_seconds: 3600,
      recent_only: "true",
      request_id: requestId,
    });
    decision = found.recent[0];
  }
  const section = $("detail");
  section.hidden = false;
  $("detail-title").textContent = `Request ${requestId}`;
  if (!decision) {
    $("detail-fields").replaceChildren(el("dt", {}, "Not found"), el("dd", {}, "No such request in the last 7 days."));
    $("detail-attempts").tBodies[0].replaceChildren();
    return;
  }
  const fields = [
    ["Time", new Date(decision.time).toISOString()],
    ["Door", decision.door],
    ["RPC", decision.method],
    ["Operation", decision.tool_or_method === decision.operation
      ? decision.operation
      : `${decision.operation} ${decision.tool_or_method}`],
    ["Target", decision.target || "–"],
    ["Rule", decision.rule || "–"],
    ["Reason", decision.reason || "–"],
    ["Confidence", fmt(decision.confidence, 2)],
    ["Outcome", `${decision.outcome} (${decision.status_code})`],
    ["Latency", ms(decision.latency_ms)],
    ["Failover", decision.failover ? "yes" : "no"],
    ["Cached", decision.cached ? "yes" : "no"],
    ["Key id", decision.key_id || "–"],
  ];
  $("detail-fields").replaceChildren(...fields.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
  $("detail-attempts").tBodies[0].replaceChildren(
    ...decision.attempts.map((a, i) =>
      el(
        "tr",
        { "data-outcome": a.outcome },
        el("td", {}, i + 1),
        el("td", {}, a.target),
        el("td", {}, a.outcome),
        el("td", { class: "number" }, ms(a.latency_ms)),
        el("td", {}, a.error || "–"),
      ),
    ),
  );
  section.scrollIntoView({ block: "nearest" });
}

function requestFromHash() {
  const match = /^#request=(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : "";
}

function openRequestFromHash() {
  const id = requestFromHash();
  if (id) showDetail(id).catch((e) => showProblem(e.message));
}

// --- wiring -------------------------------------------------------------------------------------

function start() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, $("key-input").value.trim());
    showProblem("");
    refresh();
  });
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    askForKey("Enter the coordinator's API key. It is kept for this tab only.");
  });
  for (const button of document.querySelectorAll("[data-window]")) {
    button.addEventListener("click", () => {
      state.window = Number(button.dataset.window);
      for (const other of document.querySelectorAll("[data-window]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      refresh();
    });
  }
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    $("pause").setAttribute("aria-pressed", String(state.paused));
    $("pause").textContent = state.paused ? "Resume" : "Pause";
    if (state.paused) stopTimer();
    else refresh();
  });
  for (const id of ["filter-target", "filter-door", "filter-outcome"]) {
    $(id).addEventListener("change", refresh);
  }
  $("filter-key").addEventListener("change", refresh);
  $("recent-filter").addEventListener("input", renderRecent);
  $("older").addEventListener("click", () => loadOlder().catch((e) => showProblem(e.message)));
  $("detail-close").addEventListener("click", () => {
    $("detail").hidden = true;
    history.replaceState(null, "", location.pathname);
  });
  window.addEventListener("hashchange", openRequestFromHash);
  refresh();
}

document.addEventListener("DOMContentLoaded", start);
