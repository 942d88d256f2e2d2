// The dashboard: host cards and trends from `performance`, alert counts and the live event log from /ws/alerts.
import { chartTheme, chartTooltip, openStream, pageState } from "./console.js";
import { startTraffic } from "./traffic.js";
import { api, clock, el, format, gettext, word } from "./ui.js";

const WINDOW_POINTS = 360; // 30 minutes at the default 5 s collection interval
const FEW_POINTS = 30; // below this, draw the dots: a line of one point is invisible
const LOG_LIMIT = 50;
const STATUS_COLOURS = { firing: "#dc2626", acknowledged: "#d97706", resolved: "#16a34a" };
const state = pageState("dashboard-state");
const charts = new Map();
let summary = state.summary;
let logPaused = false;

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

function makeCharts() {
  for (const element of document.querySelectorAll(".chart[data-metric]")) {
    const metric = element.dataset.metric;
    const previous = charts.get(metric);
    const points = previous ? previous.points : (state.history[metric] || []).map(([at, value]) => [at * 1000, value]);
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

function extendCharts(snapshot, at) {
  for (const [metric, entry] of charts) {
    if (!entry.points || typeof snapshot[metric] !== "number") continue;
    entry.points.push([at, snapshot[metric]]);
    if (entry.points.length > WINDOW_POINTS) entry.points.splice(0, entry.points.length - WINDOW_POINTS);
    entry.chart.setOption({
      ...(entry.points.length <= 2 ? { xAxis: loneWindow(entry.points) } : {}), // set once, not on every push
      series: [{ data: entry.points, showSymbol: entry.points.length < FEW_POINTS }],
    });
  }
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

function showSummary(next) {
  summary = next;
  document.getElementById("firing-count").textContent = summary.by_status.firing;
  document.getElementById("critical-count").textContent = summary.by_severity.critical;
  charts.get("alerts-pie").chart.setOption(pieOption());
}

async function refreshCounts() {
  try {
    const stats = await api("GET", "/api/v1/stats/");
    document.getElementById("incident-count").textContent = stats.open_incidents;
    showSummary(stats.alerts);
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

const metricsStream = openStream("/ws/metrics", { since: state.seq.metrics });
metricsStream.on("performance", (message) => {
  const at = Date.parse(message.timestamp);
  updateCards(message.data, at);
  extendCharts(message.data, at);
});

const alertsStream = openStream("/ws/alerts", {
  since: state.seq.alerts,
  pollUrl: "/api/v1/stats/",
  onPoll: (stats) => {
    document.getElementById("incident-count").textContent = stats.open_incidents;
    showSummary(stats.alerts);
  },
  onResync: refreshCounts,
});
alertsStream.on("alert_summary", (message) => showSummary(message.data));
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
