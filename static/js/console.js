// What every console page shares: the live connection and its status badge.
import { attend } from "./attention.js";
import { RealtimeClient } from "./realtime.js";
import { el, gettext } from "./ui.js";

const STATUS_TEXT = {
  connecting: gettext("connecting"),
  connected: gettext("live"),
  reconnecting: gettext("reconnecting"),
  polling: gettext("polling"),
  unauthorized: gettext("signed out"),
  closed: gettext("offline"),
};

export function showStatus(status) {
  const badge = document.getElementById("realtime-status");
  if (!badge) return;
  badge.dataset.status = status;
  badge.textContent = STATUS_TEXT[status] || status;
}

/** Opens the page's stream; options pass through to RealtimeClient (a page's onStatus runs after the badge's). */
export function openStream(path, options = {}) {
  const onStatus = (status) => {
    showStatus(status);
    if (options.onStatus) options.onStatus(status);
  };
  const client = new RealtimeClient(path, { ...options, onStatus });
  if (path.startsWith("/ws/alerts")) attend(client); // before connecting: it hears the first frame too
  client.connect();
  window.addEventListener("pagehide", () => client.close());
  return client;
}

/** The JSON the server rendered into the page with json_script. */
export function pageState(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : null;
}

export function chartTheme() {
  return document.documentElement.dataset.theme === "dark" ? "dark" : null;
}

// Series colours with at least 3:1 contrast against the card (#fff light, #171e28 dark);
// ECharts' default light palette goes down to 1.6:1 (its yellow).
const CHART_COLOURS = {
  light: ["#2563eb", "#15803d", "#b45309", "#dc2626", "#0e7490", "#7c3aed", "#be185d", "#4d7c0f"],
  dark: ["#60a5fa", "#4ade80", "#fbbf24", "#f87171", "#22d3ee", "#c084fc", "#f472b6", "#a3e635"],
};

/** The palette for a chart's `color` option in the current theme. */
export function chartColors() {
  return CHART_COLOURS[document.documentElement.dataset.theme === "dark" ? "dark" : "light"];
}

/**
 * A chart tooltip made of DOM nodes. ECharts' own tooltip is an HTML string
 * full of style attributes, which the Content-Security-Policy refuses; nodes
 * styled through the DOM are allowed. `formatValue(value, row)` writes a value.
 */
export function chartTooltip(trigger, formatValue = (value) => String(value)) {
  return {
    trigger,
    formatter(params) {
      const rows = Array.isArray(params) ? params : [params];
      const box = el("div", { class: "chart-tip" });
      if (Array.isArray(params) && rows.length) box.append(el("div", { class: "chart-tip-title" }, rows[0].axisValueLabel));
      for (const row of rows) {
        const swatch = el("span", { class: "chart-tip-swatch" });
        swatch.style.backgroundColor = row.color;
        const value = Array.isArray(row.value) ? row.value[row.value.length - 1] : row.value;
        const name = Array.isArray(params) ? row.seriesName : row.name;
        box.append(el("div", { class: "chart-tip-row" }, swatch, el("span", {}, name), el("strong", {}, formatValue(value, row))));
      }
      return box;
    },
  };
}
