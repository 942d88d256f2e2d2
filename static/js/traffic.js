// The dashboard's traffic view (seed 000): each host's send and receive rates, and a table of totals, peaks and averages.
import { chartColors, chartTheme, chartTooltip } from "./console.js";
import { el, gettext } from "./ui.js";

const REFRESH_MS = 30000;
const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** 1536 → "1.5 KB": powers of 1024, as network tools show bytes. */
export function bytes(value) {
  let size = Number(value) || 0;
  let unit = 0;
  while (Math.abs(size) >= 1024 && unit < UNITS.length - 1) { size /= 1024; unit += 1; }
  return `${size.toFixed(unit === 0 ? 0 : 1)} ${UNITS[unit]}`;
}

export const rate = (value) => `${bytes(value)}/s`;

/** Totals over the shown range from rate points: each point is a step's rise divided by the step. */
export function summarize(points, step, minutes) {
  const total = points.reduce((sum, [, value]) => sum + value * step, 0);
  const peak = points.reduce((most, [, value]) => Math.max(most, value), 0);
  return { total, peak, average: total / (minutes * 60) };
}

let chart = null;
let traffic = null;

function option(element) {
  const series = [];
  const colours = chartColors();
  for (const [index, [host, directions]] of Object.entries(traffic.hosts).entries()) {
    // A host keeps one colour of the ≥3:1 palette; its received line is the dashed one.
    const color = colours[index % colours.length];
    for (const direction of ["sent", "recv"]) {
      series.push({
        name: `${host} ${element.dataset[`${direction}Label`]}`, type: "line", showSymbol: false, color,
        lineStyle: direction === "recv" ? { type: "dashed" } : undefined,
        data: directions[direction].map(([at, value]) => [at * 1000, value]),
      });
    }
  }
  return {
    animation: false, backgroundColor: "transparent",
    grid: { left: 72, right: 16, top: 16, bottom: 56 },
    legend: { bottom: 0, type: "scroll" },
    tooltip: chartTooltip("axis", (value) => (value == null ? "" : rate(value))),
    // The view is the last `minutes`, also before a host has two points to make a rate of.
    xAxis: { type: "time", splitNumber: 6, axisLabel: { hideOverlap: true }, min: Date.now() - traffic.minutes * 60000, max: Date.now() },
    yAxis: { type: "value", min: 0, axisLabel: { formatter: rate } },
    series,
  };
}

function showTable() {
  const rows = [];
  for (const [host, directions] of Object.entries(traffic.hosts)) {
    for (const direction of ["sent", "recv"]) {
      const { total, peak, average } = summarize(directions[direction], traffic.step, traffic.minutes);
      const label = direction === "sent" ? gettext("sent") : gettext("received");
      rows.push(el("tr", { dataset: { host, direction } },
        el("th", { scope: "row" }, host, el("small", { class: "direction-inline" }, ` ${label}`)),
        el("td", { class: "direction" }, label),
        el("td", { class: "num", dataset: { field: "total" } }, bytes(total)),
        el("td", { class: "num", dataset: { field: "peak" } }, rate(peak)),
        el("td", { class: "num", dataset: { field: "average" } }, rate(average))));
    }
  }
  document.getElementById("traffic-rows").replaceChildren(...rows);
  document.getElementById("no-traffic").hidden = rows.length > 0;
}

export function drawTraffic() {
  const element = document.getElementById("chart-traffic");
  if (!element || !traffic) return;
  if (chart) chart.dispose();
  chart = echarts.init(element, chartTheme());
  chart.setOption(option(element));
  showTable();
}

async function series(name, start, end) {
  const params = new URLSearchParams({ name, agg: "rate", step: String(traffic.step), start: String(start), end: String(end) });
  const response = await fetch(`/api/v1/metrics/query/?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${response.status}`);
  return (await response.json()).series;
}

async function refresh() {
  const end = Math.floor(Date.now() / 1000 / traffic.step) * traffic.step; // whole steps, as the server's first paint
  const start = end - traffic.minutes * 60;
  try {
    const [sent, recv] = await Promise.all([series("network_bytes_sent", start, end), series("network_bytes_recv", start, end)]);
    const hosts = {};
    for (const [direction, list] of [["sent", sent], ["recv", recv]]) {
      for (const item of list) (hosts[item.tags.host || ""] ||= { sent: [], recv: [] })[direction] = item.points;
    }
    traffic = { ...traffic, hosts };
    drawTraffic();
  } catch (error) {
    console.debug("[dashboard] traffic refresh failed", error);
  }
}

export function startTraffic(initial) {
  traffic = initial;
  drawTraffic();
  window.addEventListener("resize", () => chart && chart.resize());
  document.addEventListener("opsconsole:theme", drawTraffic);
  setInterval(refresh, REFRESH_MS);
}
