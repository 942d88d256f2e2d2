// The dashboard: one host's cards and trends (or every host's, as small multiples), alert counts and the live event log.
import { chartColors, chartTheme, chartTooltip, openStream, pageState } from "./console.js";
import { startTraffic } from "./traffic.js";
import { appendPoint, isCurrent, latestByHost } from "./trends.js";
import { clock, el, format, gettext, word } from "./ui.js";

const WINDOW_POINTS = 360; // 30 minutes at the default 5 s collection interval
const FEW_POINTS = 30; // below this, draw the dots: a line of one point is invisible
const LOG_LIMIT = 50;
const STATUS_COLOURS = { firing: "#dc2626", acknowledged: "#d97706", resolved: "#16a34a" };
const TREND_METRICS = ["cpu_percent", "memory_percent"];
const HALF_HOUR_MS = 30 * 60000;
const CARD_METRICS = ["cpu_percent", "memory_percent", "disk_usage_percent", "load_1m"];
const state = pageState("dashboard-state");
const allHosts = state.host === "all";
const charts = new Map();
let summary = state.summary;
let summarySeq = state.seq.alerts; // the /ws/alerts seq the shown counts are current to
let logPaused = false;
let cardsAt = 0; // when the values on the cards were measured

/** Around a lone point, a ten-minute axis: ECharts would stretch one time value to a two-day axis. */
function loneWindow(points) {
  if (points.length !== 1) return { min: null, max: null };
  return { min: points[0][0] - 540000, max: points[0][0] + 60000 };
}

function lineOption(label, points) {
  return {
    animation: false,
    backgroundColor: "transparent",
    grid: { left: 44, right: 16, top: 16, bottom: 28 },
    tooltip: chartTooltip("axis", (v) => (v == null ? "" : `${Number(v).toFixed(1)} %`)),
    // The data's own extent: a fixed half-hour window (min set per push) measured 50-75 MB of heap
    // after 6,000 pushes in tests/browser/test_heap.py, against under 20 MB without it.
    xAxis: { type: "time", splitNumber: 6, axisLabel: { hideOverlap: true }, ...loneWindow(points) },
    yAxis: { type: "value", min: 0, max: 100 },
    series: [{
      name: label, type: "line", symbolSize: 5, showSymbol: points.length < FEW_POINTS, areaStyle: { opacity: 0.15 }, data: points,
    }],
  };
}

/** One host's small chart: CPU and memory as two lines in the ≥3:1 palette. */
function hostOption(element, points) {
  const labels = { cpu_percent: element.dataset.cpuLabel, memory_percent: element.dataset.memoryLabel };
  return {
    animation: false,
    backgroundColor: "transparent",
    color: chartColors(),
    grid: { left: 40, right: 12, top: 28, bottom: 24 },
    legend: { top: 0, right: 0, itemWidth: 14 },
    tooltip: chartTooltip("axis", (v) => (v == null ? "" : `${Number(v).toFixed(1)} %`)),
    // One half-hour axis for every host, so the charts compare at a glance; functions, so a push changes no option.
    xAxis: {
      type: "time", splitNumber: 4, axisLabel: { hideOverlap: true }, min: () => Date.now() - HALF_HOUR_MS, max: () => Date.now(),
    },
    yAxis: { type: "value", min: 0, max: 100 },
    series: TREND_METRICS.map((metric) => ({
      name: labels[metric], type: "line", symbolSize: 4, showSymbol: points[metric].length < FEW_POINTS, data: points[metric],
    })),
  };
}

function pieOption() {
  const labels = JSON.parse(document.getElementById("chart-alerts").dataset.labels);
  const total = Object.keys(STATUS_COLOURS).reduce((sum, status) => sum + (summary.by_status[status] || 0), 0);
  return {
    animation: false,
    backgroundColor: "transparent",
    // The total in the hole of the ring: readable from across the room.
    title: { text: String(total), left: "center", top: "center", textStyle: { fontSize: 28, fontWeight: "bold" } },
    tooltip: chartTooltip("item", (count, slice) => `${count} (${slice.percent} %)`),
    legend: { bottom: 0 },
    series: [{
      type: "pie", radius: ["45%", "70%"], stillShowZeroSum: false,
      // Counts inside the ring: outside labels of empty slices would pile up on each other.
      label: { position: "inside", formatter: (slice) => (slice.value ? String(slice.value) : ""), color: "#fff", fontWeight: "bold" },
      data: Object.keys(STATUS_COLOURS).map((status) => ({
        name: labels[status], value: summary.by_status[status] || 0, itemStyle: { color: STATUS_COLOURS[status] },
      })),
    }],
  };
}

const inMs = (points) => (points || []).map(([at, value]) => [at * 1000, value]);

function makeCharts() {
  for (const element of document.querySelectorAll(".chart[data-host]")) {
    const host = element.dataset.host;
    const key = `host:${host}`;
    const previous = charts.get(key);
    const history = state.host_history[host] || {};
    const points = previous ? previous.points : Object.fromEntries(TREND_METRICS.map((metric) => [metric, inMs(history[metric])]));
    if (previous) previous.chart.dispose();
    const chart = echarts.init(element, chartTheme());
    chart.setOption(hostOption(element, points));
    charts.set(key, { chart, element, host, points });
  }
  for (const element of document.querySelectorAll(".chart[data-metric]")) {
    const metric = element.dataset.metric;
    const previous = charts.get(metric);
    const points = previous ? previous.points : inMs(state.history[metric]);
    if (previous) previous.chart.dispose();
    const chart = echarts.init(element, chartTheme());
    chart.setOption(lineOption(element.dataset.label, points));
    charts.set(metric, { chart, element, points });
  }
  const pieElement = document.getElementById("chart-alerts");
  const existing = echarts.getInstanceByDom(pieElement);
  if (existing) existing.dispose();
  charts.set("alerts-pie", { chart: echarts.init(pieElement, chartTheme()), points: null });
  charts.get("alerts-pie").chart.setOption(pieOption());
}

/** The shown host's trend charts take `values` ({metric: [at, value]}); false when nothing was new. */
function extendHostCharts(values) {
  let added = false;
  for (const metric of TREND_METRICS) {
    const entry = charts.get(metric);
    if (!entry || !values[metric] || !appendPoint(entry.points, ...values[metric], WINDOW_POINTS)) continue;
    added = true;
    entry.chart.setOption({
      ...(entry.points.length <= 2 ? { xAxis: loneWindow(entry.points) } : {}), // set once, not on every push
      series: [{ data: entry.points, showSymbol: entry.points.length < FEW_POINTS }],
    });
  }
  return added;
}

function extendSmallMultiple(host, values) {
  const entry = charts.get(`host:${host}`);
  if (!entry) return;
  let added = false;
  for (const metric of TREND_METRICS) {
    if (values[metric] && appendPoint(entry.points[metric], ...values[metric], WINDOW_POINTS)) added = true;
  }
  if (!added) return;
  entry.chart.setOption({
    series: TREND_METRICS.map((metric) => ({ data: entry.points[metric], showSymbol: entry.points[metric].length < FEW_POINTS })),
  });
}

/** Latest values by host (from a `performance` or `metrics` push, or a poll) reach that host's charts and cards. */
function takeLatest(byHost) {
  for (const [host, values] of byHost) {
    if (allHosts) {
      extendSmallMultiple(host, values);
      continue;
    }
    if (host !== state.host) continue;
    extendHostCharts(values);
    const at = Math.max(...Object.values(values).map(([time]) => time));
    if (at <= cardsAt) continue; // a poll repeats values already shown
    cardsAt = at;
    updateCards(Object.fromEntries(Object.entries(values).map(([metric, [, value]]) => [metric, value])), at);
  }
}

/** A `performance` snapshot as latest values of its host. */
function performanceValues(message) {
  const at = Date.parse(message.timestamp);
  return new Map([[message.data.host, Object.fromEntries(CARD_METRICS.map((metric) => [metric, [at, message.data[metric]]]))]]);
}

/** Bar widths are set here, never in the HTML: the CSP allows no inline style attribute. */
function showBars(snapshot) {
  for (const bar of document.querySelectorAll("[data-bar]")) {
    const value = snapshot[bar.dataset.bar];
    if (typeof value === "number") bar.style.width = `${Math.min(100, Math.max(0, value))}%`;
  }
}

function updateCards(snapshot, at) {
  for (const field of document.querySelectorAll("[data-field]")) {
    const value = snapshot[field.dataset.field];
    if (typeof value !== "number") continue;
    field.textContent = Number.isInteger(value) ? String(value) : value.toFixed(field.dataset.field.startsWith("load") ? 2 : 1);
  }
  showBars(snapshot);
  const stamp = document.getElementById("last-update");
  stamp.dateTime = new Date(at).toISOString();
  stamp.textContent = clock(at);
}

/** Shows alert counts current to stream seq `seq`, unless the counts shown are newer. */
function showSummary(next, seq = null) {
  if (!isCurrent(seq, summarySeq)) return;
  if (seq !== null) summarySeq = seq;
  summary = next;
  document.getElementById("firing-count").textContent = summary.by_status.firing;
  document.getElementById("critical-count").textContent = summary.by_severity.critical;
  charts.get("alerts-pie").chart.setOption(pieOption());
}

const streamSeq = (headers) => (headers && headers.get("X-Stream-Seq") !== null ? Number(headers.get("X-Stream-Seq")) : null);

function showStats(stats, headers) {
  const seq = streamSeq(headers);
  if (!isCurrent(seq, summarySeq)) return; // a push newer than this answer is on screen
  document.getElementById("incident-count").textContent = stats.open_incidents;
  showSummary(stats.alerts, seq);
}

async function refreshCounts() {
  try {
    const response = await fetch("/api/v1/stats/", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${response.status}`);
    showStats(await response.json(), response.headers);
  } catch (error) {
    console.debug("[dashboard] stats refresh failed", error);
  }
}

// While paused the log holds still for reading; new events wait (capped) and show on resume.
const held = [];

function logEvent(message, text, severity, alertId) {
  const item = el("li", { class: `sev-border ${severity || ""}`, dataset: alertId ? { alert: alertId } : {} },
    el("time", { datetime: message.timestamp }, clock(message.timestamp)), " ", text);
  if (logPaused) {
    held.push(item);
    if (held.length > LOG_LIMIT) held.shift();
    showPauseButton();
    return;
  }
  showInLog([item]);
}

// A deleted alert's lines go: the log shows what is there to act on.
function dropAlert(id) {
  for (const item of document.querySelectorAll(`#event-log li[data-alert="${Number(id)}"]`)) item.remove();
  held.splice(0, held.length, ...held.filter((item) => item.dataset.alert !== String(id)));
  showPauseButton();
}

function showInLog(items) {
  const log = document.getElementById("event-log");
  for (const item of items) log.prepend(item);
  while (log.children.length > LOG_LIMIT) log.lastElementChild.remove();
}

function showPauseButton() {
  const button = document.getElementById("log-pause");
  button.setAttribute("aria-pressed", String(logPaused));
  button.textContent = logPaused
    ? `${button.dataset.resumeLabel}${held.length ? ` (${held.length})` : ""}`
    : button.dataset.pauseLabel;
}

// The commands of the first steps name the origin the browser sees (behind a proxy, not the server's own).
for (const origin of document.querySelectorAll("[data-origin]")) origin.textContent = location.origin;
document.getElementById("host-picker").addEventListener("change", (event) => {
  const params = new URLSearchParams(location.search);
  params.set("host", event.target.value);
  location.assign(`${location.pathname}?${params}`); // the page is drawn for a host: its URL says which
});

showBars(state.snapshot);
makeCharts();
startTraffic(state.traffic);
for (const alert of [...state.recent_alerts].reverse()) {
  logEvent({ timestamp: alert.updated_at }, `${word(alert.status)}: ${alert.title} (${alert.source})`, alert.severity, alert.id);
}
window.addEventListener("resize", () => charts.forEach(({ chart }) => chart.resize()));
document.addEventListener("opsconsole:theme", makeCharts);
document.getElementById("log-pause").addEventListener("click", () => {
  logPaused = !logPaused;
  if (!logPaused) showInLog(held.splice(0));
  showPauseButton();
});

// Without the socket, the latest values come over REST at the collection interval, and the page says so.
const latestUrl = `/api/v1/metrics/latest/${allHosts ? "" : `?${new URLSearchParams({ tag: `host:${state.host}` })}`}`;
const metricsStream = openStream("/ws/metrics", {
  since: state.seq.metrics,
  pollUrl: latestUrl,
  pollIntervalMs: state.collect_interval_ms,
  onPoll: (answer) => takeLatest(latestByHost(answer.series, CARD_METRICS)),
  onStatus: (status) => { document.getElementById("live-paused").hidden = status !== "polling"; },
});
metricsStream.on("performance", (message) => takeLatest(performanceValues(message)));
metricsStream.on("metrics", (message) => takeLatest(latestByHost(message.data.series, CARD_METRICS)));

const alertsStream = openStream("/ws/alerts", {
  since: state.seq.alerts,
  pollUrl: "/api/v1/stats/",
  onPoll: showStats,
  onResync: () => {
    summarySeq = null; // the missed events are gone: the reload is the truth
    refreshCounts();
  },
});
alertsStream.noteVersions("alert", state.recent_alerts);
alertsStream.on("alert_summary", (message) => showSummary(message.data, message.meta?.at_seq ?? null));
alertsStream.on("alert", (message) => {
  const alert = message.data;
  logEvent(message, `${word(alert.status)}: ${alert.title} (${alert.source})`, alert.severity, alert.id);
});
alertsStream.on("alert_deleted", (message) => {
  dropAlert(message.data.id);
  refreshCounts();
});
alertsStream.on("incident", (message) => {
  const incident = message.data;
  logEvent(message, `${format(gettext("incident #%(id)s"), { id: incident.id })} ${word(incident.status)}: ${incident.title}`, incident.severity);
  refreshCounts();
});
window.opsconsoleDashboard = { charts, streams: [metricsStream, alertsStream] };
