// The dashboard: host cards and CPU / memory trends, extended by `performance` pushes.
import { chartTheme, openStream, pageState } from "./console.js";

const WINDOW_POINTS = 360; // 30 minutes at the default 5 s collection interval
const state = pageState("dashboard-state");
const charts = new Map();

function lineOption(label, points) {
  return {
    animation: false,
    grid: { left: 44, right: 16, top: 16, bottom: 28 },
    tooltip: { trigger: "axis", valueFormatter: (v) => (v == null ? "" : `${v.toFixed(1)} %`) },
    xAxis: { type: "time" },
    yAxis: { type: "value", min: 0, max: 100 },
    series: [{ name: label, type: "line", showSymbol: false, areaStyle: { opacity: 0.15 }, data: points }],
  };
}

function makeChart(element) {
  const chart = echarts.init(element, chartTheme());
  chart.setOption(lineOption(element.dataset.label, []));
  charts.set(element.dataset.metric, { chart, element, points: [] });
}

function extendCharts(snapshot, at) {
  for (const [metric, entry] of charts) {
    if (typeof snapshot[metric] !== "number") continue;
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

function onPerformance(message) {
  const at = Date.parse(message.timestamp);
  updateCards(message.data, at);
  extendCharts(message.data, at);
}

document.querySelectorAll(".chart[data-metric]").forEach(makeChart);
if (state) extendCharts(state.snapshot, Date.parse(state.snapshot_at));
window.addEventListener("resize", () => charts.forEach(({ chart }) => chart.resize()));
document.addEventListener("opsconsole:theme", () => {
  for (const [metric, entry] of charts) {
    entry.chart.dispose();
    entry.chart = echarts.init(entry.element, chartTheme());
    entry.chart.setOption(lineOption(entry.element.dataset.label, entry.points));
    charts.set(metric, entry);
  }
});

const stream = openStream("/ws/metrics");
stream.on("performance", onPerformance);
window.opsconsoleDashboard = { charts, stream };
