// The dashboard: host cards and trends from `performance`, alert counts and the live event log from /ws/alerts.
import { chartTheme, openStream, pageState } from "./console.js";
import { api, el } from "./ui.js";

const WINDOW_POINTS = 360; // 30 minutes at the default 5 s collection interval
const LOG_LIMIT = 50;
const STATUS_COLOURS = { firing: "#dc2626", acknowledged: "#d97706", resolved: "#16a34a" };
const state = pageState("dashboard-state");
const charts = new Map();
let summary = state.summary;
let logPaused = false;

function lineOption(label, points) {
  return {
    animation: false,
    backgroundColor: "transparent",
    grid: { left: 44, right: 16, top: 16, bottom: 28 },
    tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "" : `${Number(v).toFixed(1)} %`) },
    xAxis: { type: "time" },
    yAxis: { type: "value", min: 0, max: 100 },
    series: [{ name: label, type: "line", showSymbol: false, areaStyle: { opacity: 0.15 }, data: points }],
  };
}

function pieOption() {
  const labels = JSON.parse(document.getElementById("chart-alerts").dataset.labels);
  return {
    animation: false,
    backgroundColor: "transparent",
    tooltip: { trigger: "item" },
    legend: { bottom: 0 },
    series: [{
      type: "pie", radius: ["40%", "70%"],
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
    entry.chart.setOption({ series: [{ data: entry.points }] });
  }
}

function updateCards(snapshot, at) {
  for (const field of document.querySelectorAll("[data-field]")) {
    const value = snapshot[field.dataset.field];
    if (typeof value !== "number") continue;
    field.textContent = Number.isInteger(value) ? String(value) : value.toFixed(field.dataset.field.startsWith("load") ? 2 : 1);
  }
  for (const bar of document.querySelectorAll("[data-bar]")) {
    const value = snapshot[bar.dataset.bar];
    if (typeof value === "number") bar.style.width = `${Math.min(100, Math.max(0, value))}%`;
  }
  const stamp = document.getElementById("last-update");
  stamp.dateTime = new Date(at).toISOString();
  stamp.textContent = new Date(at).toLocaleTimeString();
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

function logEvent(message, text, severity) {
  if (logPaused) return;
  const log = document.getElementById("event-log");
  log.prepend(el("li", { class: `sev-border ${severity || ""}` },
    el("time", { datetime: message.timestamp }, new Date(message.timestamp).toLocaleTimeString()), " ", text));
  while (log.children.length > LOG_LIMIT) log.lastElementChild.remove();
}

makeCharts();
window.addEventListener("resize", () => charts.forEach(({ chart }) => chart.resize()));
document.addEventListener("opsconsole:theme", makeCharts);
document.getElementById("log-pause").addEventListener("click", (event) => {
  logPaused = !logPaused;
  event.currentTarget.setAttribute("aria-pressed", String(logPaused));
  event.currentTarget.textContent = logPaused ? event.currentTarget.dataset.resumeLabel : event.currentTarget.dataset.pauseLabel;
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
  logEvent(message, `${alert.status}: ${alert.title} (${alert.source})`, alert.severity);
});
alertsStream.on("incident", (message) => {
  const incident = message.data;
  logEvent(message, `incident #${incident.id} ${incident.status}: ${incident.title}`, incident.severity);
  refreshCounts();
});
window.opsconsoleDashboard = { charts, streams: [metricsStream, alertsStream] };
