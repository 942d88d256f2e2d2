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

/** Opens the page's stream; options pass through to RealtimeClient. */
export function openStream(path, options = {}) {
  const client = new RealtimeClient(path, { ...options, onStatus: showStatus });
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
