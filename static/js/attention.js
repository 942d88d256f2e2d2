// What pulls an on-call engineer's eye to the tab: the firing count in the
// title and on the favicon, and (opted in per browser) a desktop
// notification and a sound for each new critical alert.
import { api, format, gettext } from "./ui.js";

const COUNT_URL = "/api/v1/alerts/?status=firing&silenced=false&page_size=1";
const COUNT_DELAY_MS = 300; // a burst of alerts costs one count
const COUNT_EVERY_MS = 60000; // and a count now and then, in case the socket is down
const FRESH_MS = 120000; // an alert older than this (a replay after a reconnect) is not news
const KEYS = { desktop: "opsconsole-notify-desktop", sound: "opsconsole-notify-sound" };

const streams = new Set();
const announced = new Set();
const seen = { count: null, summaryFiring: null, sounds: 0, notifications: [] };
const baseTitle = document.title.replace(/^\(\d+\+?\) /, "");
const icon = document.querySelector('link[rel="icon"]');
const plainIcon = icon ? { href: icon.href, type: icon.type } : null;
let countTimer = null;
let audio = null;

export const wants = (what) => localStorage.getItem(KEYS[what]) === "1";

function showCount(count) {
  seen.count = count;
  document.documentElement.dataset.firing = String(count);
  document.title = count ? `(${count > 999 ? "999+" : count}) ${baseTitle}` : baseTitle;
  drawIcon(count);
}

// The favicon with a red count badge, drawn on a canvas (img-src allows data:).
function drawIcon(count) {
  if (!icon || !plainIcon) return;
  if (!count) {
    icon.type = plainIcon.type;
    icon.href = plainIcon.href;
    return;
  }
  const image = new Image();
  image.onload = () => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 64;
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0, 64, 64);
    context.fillStyle = "#dc2626";
    context.beginPath();
    context.arc(44, 20, 20, 0, 2 * Math.PI);
    context.fill();
    context.fillStyle = "#fff";
    context.font = "bold 26px system-ui, sans-serif";
    context.textAlign = "center";
    context.textBaseline = "middle";
    context.fillText(count > 99 ? "99+" : String(count), 44, 21, 38);
    if (seen.count !== count) return; // a newer count is drawing
    icon.type = "image/png";
    icon.href = canvas.toDataURL("image/png");
  };
  image.src = plainIcon.href;
}

async function recount() {
  try {
    showCount((await api("GET", COUNT_URL)).count);
  } catch (error) {
    console.debug("[attention] count failed", error);
  }
}

function recountSoon() {
  clearTimeout(countTimer);
  countTimer = setTimeout(recount, COUNT_DELAY_MS);
}

function beep() {
  if (!audio) return;
  audio.resume();
  const start = audio.currentTime;
  for (const [index, frequency] of [880, 660].entries()) {
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = frequency;
    volume.gain.setValueAtTime(0.2, start + index * 0.18);
    volume.gain.exponentialRampToValueAtTime(0.001, start + index * 0.18 + 0.16);
    tone.connect(volume).connect(audio.destination);
    tone.start(start + index * 0.18);
    tone.stop(start + index * 0.18 + 0.17);
  }
  seen.sounds += 1;
}

function announce(alert) {
  if (wants("sound")) beep();
  if (wants("desktop") && "Notification" in window && Notification.permission === "granted") {
    const notification = new Notification(format(gettext("Critical: %(title)s"), { title: alert.title }), {
      body: alert.message || alert.source, tag: `opsconsole-alert-${alert.id}`,
    });
    notification.onclick = () => { window.focus(); location.assign(`/alerts/${alert.id}/`); };
    seen.notifications.push(alert.id);
  }
}

function isNews(alert) {
  return alert.severity === "critical" && alert.status === "firing" && !alert.silenced && !announced.has(alert.id)
    && Date.now() - Date.parse(alert.starts_at) < FRESH_MS;
}

/** Follows `stream` (an /ws/alerts client) for the counts and the new critical alerts. */
export function attend(stream) {
  streams.add(stream);
  stream.on("alert", (message) => {
    recountSoon();
    if (isNews(message.data)) {
      announced.add(message.data.id);
      announce(message.data);
    }
  });
  stream.on("alert_deleted", recountSoon);
  stream.on("alert_summary", (message) => {
    const firing = message.data.by_status && message.data.by_status.firing;
    if (firing !== seen.summaryFiring) recountSoon();
    seen.summaryFiring = firing;
  });
  stream.on("connection", recountSoon); // after a reconnect, whatever was missed
}

/** Whether the page already follows /ws/alerts; `ensure` asks for the events attention needs from a narrowed one. */
export function attended() {
  return streams.size > 0;
}

export function ensureEvents() {
  for (const stream of streams) {
    if (stream.subscription.events !== null) stream.subscribe(["alert", "alert_deleted", "alert_summary"]);
  }
}

function setUp(box, what) {
  if (!box) return;
  box.checked = wants(what);
  box.addEventListener("change", async () => {
    if (box.checked && what === "desktop" && "Notification" in window && Notification.permission !== "granted") {
      box.checked = (await Notification.requestPermission()) === "granted";
    }
    if (box.checked && what === "sound") {
      audio = audio || new AudioContext(); // made in a click, so the browser lets it play
      beep(); // and the engineer hears what it will sound like
    }
    localStorage.setItem(KEYS[what], box.checked ? "1" : "0");
  });
}

/** Starts the counts and the opt-in switches; called once the page's own script has run. */
export function startAttention() {
  setUp(document.getElementById("notify-desktop"), "desktop");
  setUp(document.getElementById("notify-sound"), "sound");
  // An AudioContext starts suspended until the page gets a gesture: make it at the first one.
  if (wants("sound")) document.addEventListener("pointerdown", () => { audio = audio || new AudioContext(); audio.resume(); }, { once: true });
  ensureEvents();
  recount();
  setInterval(recount, COUNT_EVERY_MS);
  window.opsconsoleAttention = seen;
}
