// What every console page shares: the live connection and its status badge.
import { RealtimeClient } from "./realtime.js";
import { gettext } from "./ui.js";

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
