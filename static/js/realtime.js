// The browser side of the console's WebSocket protocol (docs/protocol.md).
//
// One RealtimeClient per page and endpoint. It survives restarts and network
// loss on its own: reconnects with backoff and jitter, replays what it missed
// with `resume`, buffers what the page sends while offline, and falls back to
// polling REST while the socket is down, so an on-call screen never freezes.

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;
const OUTBOX_LIMIT = 100;
const HEARTBEAT_MS = 30000;
const SILENCE_LIMIT_MS = 75000;
const REQUEST_TIMEOUT_MS = 10000;
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;

/** Full-jitter backoff: random in [0, min(cap, base * 2^attempt)], at least base/2. */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.max(BACKOFF_BASE_MS / 2, Math.round(random() * ceiling));
}

export class RealtimeClient {
  constructor(path, options = {}) {
    this.path = path;
    this.options = { pollIntervalMs: 30000, ...options };
    this.handlers = new Map();
    this.outbox = [];
    // The seq the page's server-rendered state is current to: events after it
    // are replayed on the first connection, so nothing published between the
    // render and the socket opening is lost.
    this.lastSeq = typeof options.since === "number" ? options.since : null;
    this.attempt = 0;
    this.socket = null;
    this.closedByPage = false;
    this.timers = { reconnect: null, heartbeat: null, silence: null, poll: null };
    this.pendingRequests = [];
    this.status = "closed";
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${this.path}`;
  }

  connect() {
    this.closedByPage = false;
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
    socket.onerror = () => console.debug("[realtime] socket error", this.path);
  }

  close() {
    this.closedByPage = true;
    this.clearTimers();
    if (this.socket) this.socket.close(1000);
    this.setStatus("closed");
  }

  /** Registers a handler for a message type; returns the function that removes it. */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.status === "connected") {
      this.socket.send(JSON.stringify(message));
      return;
    }
    this.outbox.push(message);
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.splice(0, this.outbox.length - OUTBOX_LIMIT);
  }

  subscribe(events, filters = {}) { this.send({ type: "subscribe", data: { events, filters } }); }

  unsubscribe(events) { this.send({ type: "unsubscribe", data: { events } }); }

  setInterval(ms) { this.send({ type: "set_interval", data: { ms } }); }

  /** Asks for metric history; resolves with the next `data` frame, rejects after 10 s. */
  requestData(metrics, historyMinutes) {
    return new Promise((resolve, reject) => {
      const pending = { resolve, reject };
      pending.timer = setTimeout(() => {
        this.pendingRequests = this.pendingRequests.filter((entry) => entry !== pending);
        reject(new Error("request_data timed out"));
      }, REQUEST_TIMEOUT_MS);
      this.pendingRequests.push(pending);
      this.send({ type: "request_data", data: { metrics, history_minutes: historyMinutes } });
    });
  }

  receive(raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      console.debug("[realtime] ignoring a frame that is not JSON");
      return;
    }
    this.armSilenceTimer();
    if (message.type === "connection") return this.connected(message);
    if (message.type === "batch") {
      for (const inner of message.data.messages || []) this.dispatch(inner);
      return;
    }
    this.dispatch(message);
  }

  dispatch(message) {
    const seq = message.meta && message.meta.seq;
    if (typeof seq === "number" && (this.lastSeq === null || seq > this.lastSeq)) this.lastSeq = seq;
    if (message.type === "data" && this.pendingRequests.length) {
      const pending = this.pendingRequests.shift();
      clearTimeout(pending.timer);
      pending.resolve(message);
    }
    if (message.type === "resync_required" && this.options.onResync) this.options.onResync(message);
    for (const handler of this.handlers.get(message.type) || []) handler(message);
    for (const handler of this.handlers.get("*") || []) handler(message);
  }

  connected(message) {
    const resuming = this.lastSeq !== null;
    const since = this.lastSeq;
    if (!resuming && typeof message.data.seq === "number") this.lastSeq = message.data.seq;
    this.attempt = 0;
    this.stopPolling();
    this.setStatus("connected");
    // Resume first, so replayed events arrive before anything the page re-sends.
    if (resuming) this.socket.send(JSON.stringify({ type: "resume", data: { since } }));
    const queued = this.outbox.splice(0);
    for (const entry of queued) this.socket.send(JSON.stringify(entry));
    this.clearTimer("heartbeat");
    this.timers.heartbeat = setInterval(() => this.send({ type: "ping" }), HEARTBEAT_MS);
    this.dispatch(message);
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.clearTimer("heartbeat");
    this.clearTimer("silence");
    if (this.closedByPage) return;
    if (code === CLOSE_UNAUTHORIZED || code === CLOSE_FORBIDDEN) {
      this.setStatus("unauthorized");
      return;
    }
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.setStatus(this.attempt > 1 && this.options.pollUrl ? "polling" : "reconnecting");
    if (this.attempt > 1) this.startPolling();
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }

  armSilenceTimer() {
    this.clearTimer("silence");
    // A socket can die without a close frame (a sleeping laptop, a dropped NAT
    // entry); silence longer than two heartbeats means it is gone.
    this.timers.silence = setTimeout(() => this.socket && this.socket.close(4000), SILENCE_LIMIT_MS);
  }

  startPolling() {
    const { pollUrl, onPoll, pollIntervalMs } = this.options;
    if (!pollUrl || this.timers.poll) return;
    const poll = async () => {
      try {
        const response = await fetch(pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok && onPoll) onPoll(await response.json());
      } catch (error) {
        console.debug("[realtime] poll failed", error);
      }
    };
    poll();
    this.timers.poll = setInterval(poll, pollIntervalMs);
  }

  stopPolling() { this.clearTimer("poll"); }

  clearTimer(name) {
    if (this.timers[name] !== null) {
      clearTimeout(this.timers[name]);
      clearInterval(this.timers[name]);
      this.timers[name] = null;
    }
  }

  clearTimers() { for (const name of Object.keys(this.timers)) this.clearTimer(name); }

  setStatus(status) {
    this.status = status;
    document.documentElement.dataset.realtime = status;
    if (this.options.onStatus) this.options.onStatus(status);
  }
}
