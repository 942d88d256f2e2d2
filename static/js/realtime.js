// The browser side of the console's WebSocket protocol (docs/protocol.md).
//
// One RealtimeClient per page and endpoint. It survives restarts and network
// loss on its own: reconnects with backoff and jitter, replays what it missed
// with `resume`, buffers what the page sends while offline, and falls back to
// polling REST while the socket is down, so an on-call screen never freezes.

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;
const OUTBOX_LIMIT = 100;
// The server drops frames beyond 20 a second (a bucket of 20), so a flush of
// the offline buffer goes out in bursts that stay under it.
const FLUSH_BURST = 15;
const FLUSH_PAUSE_MS = 1000;
const HEARTBEAT_MS = 30000;
const SILENCE_LIMIT_MS = 75000;
const REQUEST_TIMEOUT_MS = 10000;
// Bad credentials (4401) and a non-staff account (4403): retrying cannot help.
const STOP_CODES = new Set([4401, 4403]);
const CLOSE_SILENT = 4000;

/** Full jitter (random in [0, min(cap, base * 2^attempt)]), so a restarted server is not hit by every tab at once. */
export function backoffDelay(attempt, random = Math.random) {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
}

const later = (a, b) => (a === null ? b : b === null ? a : Math.max(a, b));

export class RealtimeClient {
  /**
   * Options: onStatus(status), pollUrl with onPoll(json, headers) and pollIntervalMs,
   * onResync(frame), and since: the seq the server-rendered page is current
   * to, so events published between the render and the socket opening are
   * replayed rather than lost.
   */
  constructor(path, options = {}) {
    this.path = path;
    this.options = { pollIntervalMs: 30000, ...options };
    this.handlers = new Map();
    this.outbox = [];
    this.lastSeq = typeof options.since === "number" ? options.since : null;
    this.connectionSeq = null;
    this.resuming = false;
    this.resumingGap = false; // a resume asked mid-connection, on a gap
    this.versions = new Map(); // "alert:12" -> the newest version seen
    // The server forgets a socket's subscription and interval when it closes;
    // these are what every new connection re-sends.
    this.subscription = { events: null, filters: null };
    this.intervalMs = null;
    this.attempt = 0;
    this.socket = null;
    this.closedByPage = false;
    this.timers = { reconnect: null, heartbeat: null, silence: null, poll: null, flush: null };
    this.pendingRequests = [];
    this.status = "closed";
  }

  url() {
    return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${this.path}`;
  }

  connect() {
    if (this.socket && this.socket.readyState <= WebSocket.OPEN) return; // one socket at a time
    this.closedByPage = false;
    this.clearTimer("reconnect");
    this.setStatus(this.timers.poll ? "polling" : this.attempt === 0 ? "connecting" : "reconnecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
    socket.onerror = () => console.debug("[realtime] socket error", this.path);
    this.armSilenceTimer(); // a handshake that hangs is as dead as a silent socket
  }

  close() {
    this.closedByPage = true;
    this.clearTimers();
    this.attempt = 0;
    if (this.socket) this.socket.close(1000);
    this.setStatus("closed");
  }

  /** Registers a handler for a message type ("*" for all); returns the function that removes it. */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  /** Sends now when connected; otherwise keeps the newest 100 messages for the next connection. */
  send(message) {
    if (this.live() && this.outbox.length === 0) return this.socket.send(JSON.stringify(message));
    this.outbox.push(message); // behind a flush in progress too, so order holds
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.splice(0, this.outbox.length - OUTBOX_LIMIT);
  }

  /** Adds event types and/or replaces the filters; kept and re-applied on every reconnect. */
  subscribe(events, filters) {
    const data = {};
    if (events !== undefined) {
      data.events = events;
      this.subscription.events = [...new Set([...(this.subscription.events || []), ...events])];
    }
    if (filters !== undefined) data.filters = this.subscription.filters = filters;
    this.command({ type: "subscribe", data });
  }

  unsubscribe(events) {
    if (this.subscription.events) this.subscription.events = this.subscription.events.filter((name) => !events.includes(name));
    this.command({ type: "unsubscribe", data: { events } });
  }

  setInterval(ms) {
    this.intervalMs = ms;
    this.command({ type: "set_interval", data: { ms } });
  }

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

  // Connection state, unlike other messages, is not queued while offline:
  // the next connection re-sends all of it anyway (standingFrames).
  command(message) {
    if (this.live()) this.send(message);
  }

  standingFrames() {
    const { events, filters } = this.subscription;
    const frames = [];
    if (events !== null || filters !== null) {
      frames.push({ type: "subscribe", data: { ...(events !== null && { events }), ...(filters !== null && { filters }) } });
    }
    if (this.intervalMs !== null) frames.push({ type: "set_interval", data: { ms: this.intervalMs } });
    return frames;
  }

  live() { return this.status === "connected" && this.socket !== null && this.socket.readyState === WebSocket.OPEN; }

  receive(raw) {
    this.armSilenceTimer(); // any frame, even one we cannot read, proves the link is alive
    let message = null;
    try { message = JSON.parse(raw); } catch { /* reported below */ }
    if (!message || typeof message !== "object") return console.debug("[realtime] ignoring a frame that is not a JSON object");
    if (message.type === "connection") return this.connected(message);
    const messages = message.type === "batch" ? (message.data && message.data.messages) || [] : [message];
    for (const inner of messages) this.dispatch(inner);
  }

  dispatch(message) {
    if (!this.inOrder(message)) return;
    if (message.type === "resumed") {
      this.resuming = false;
      this.resumingGap = false;
      if (typeof (message.data && message.data.seq) === "number") this.lastSeq = later(this.lastSeq, message.data.seq);
    }
    if (this.isStale(message)) return;
    if (message.type === "resync_required") this.resynced(message);
    if (message.type === "data" && this.pendingRequests.length) {
      const pending = this.pendingRequests.shift();
      clearTimeout(pending.timer);
      pending.resolve(message);
    }
    for (const handler of [...(this.handlers.get(message.type) || []), ...(this.handlers.get("*") || [])]) {
      // A page's bug still surfaces, but cannot cost the rest of a batch.
      try { handler(message); } catch (error) { queueMicrotask(() => { throw error; }); }
    }
  }

  /**
   * Durable events carry meta.seq, each one more than the last (docs/protocol.md).
   * A copy of one already seen is dropped; one past a gap is dropped too and
   * the gap is asked for with `resume` (the replay brings that event along).
   * A snapshot's meta.at_seq (alert_summary, position) ahead of the last seq
   * seen says an event was lost on the way: resume as well. A socket that
   * subscribed to some events or filters skips seqs by design: only at_seq
   * tells it to resume (and the replay is filtered the same way).
   */
  inOrder(message) {
    const meta = message.meta || {};
    const filtered = this.subscription.events !== null || this.subscription.filters !== null;
    if (typeof meta.seq === "number") {
      if (filtered) {
        if (this.lastSeq !== null && meta.seq <= this.lastSeq) return false;
        this.lastSeq = meta.seq;
        return true;
      }
      if (this.lastSeq === null) {
        this.lastSeq = meta.seq;
        return true;
      }
      if (meta.seq <= this.lastSeq) return false;
      if (meta.seq > this.lastSeq + 1) {
        this.resumeGap();
        return false;
      }
      this.lastSeq = meta.seq;
      return true;
    }
    if (typeof meta.at_seq === "number" && this.lastSeq !== null && meta.at_seq > this.lastSeq) this.resumeGap();
    return true;
  }

  resumeGap() {
    if (this.resuming || !this.live()) return; // a resume in flight, or the next connection's, covers it
    this.resuming = this.resumingGap = true;
    this.socket.send(JSON.stringify({ type: "resume", data: { since: this.lastSeq } }));
  }

  /** An alert or incident older than the version already shown is dropped: it cannot replace a newer one. */
  isStale(message) {
    if (!["alert", "incident", "alert_deleted"].includes(message.type)) return false;
    const data = message.data || {};
    const key = `${message.type === "incident" ? "incident" : "alert"}:${data.id}`;
    if (message.type === "alert_deleted") {
      this.versions.set(key, Infinity); // a late update cannot bring a deleted alert back
      return false;
    }
    if (typeof data.version !== "number") return false;
    if ((this.versions.get(key) ?? -1) > data.version) return true;
    this.versions.set(key, data.version);
    return false;
  }

  /** Tells the client the versions a page loaded over REST, so an older pushed copy cannot replace them. */
  noteVersions(type, objects) {
    for (const object of objects) this.isCurrent(type, object);
  }

  /**
   * Whether an object loaded over REST may be shown: false when a newer
   * version was pushed or loaded meanwhile (a reload and a push can cross).
   * A current one is noted, so an older push cannot replace it either.
   */
  isCurrent(type, object) {
    if (typeof (object && object.version) !== "number") return true;
    const key = `${type}:${object.id}`;
    if ((this.versions.get(key) ?? -1) > object.version) return false;
    this.versions.set(key, object.version);
    return true;
  }

  connected(message) {
    const seq = message.data && message.data.seq;
    this.connectionSeq = typeof seq === "number" ? seq : null;
    this.resuming = this.lastSeq !== null;
    this.resumingGap = false;
    if (!this.resuming) this.lastSeq = this.connectionSeq;
    this.attempt = 0;
    this.stopPolling();
    this.setStatus("connected");
    // Subscription before resume: the server filters the replay by it.
    const frames = this.standingFrames();
    if (this.resuming) frames.push({ type: "resume", data: { since: this.lastSeq } });
    for (const frame of frames) this.socket.send(JSON.stringify(frame));
    this.flush(FLUSH_BURST - frames.length);
    this.clearTimer("heartbeat");
    this.timers.heartbeat = setInterval(() => this.send({ type: "ping" }), HEARTBEAT_MS);
    this.dispatch(message);
  }

  flush(budget) {
    this.clearTimer("flush");
    if (!this.live()) return; // what is left waits for the next connection
    for (const message of this.outbox.splice(0, Math.max(0, budget))) this.socket.send(JSON.stringify(message));
    if (this.outbox.length) this.timers.flush = setTimeout(() => this.flush(FLUSH_BURST), FLUSH_PAUSE_MS);
  }

  /**
   * The missed events are gone and the page reloads over REST. Answering our
   * resume, the reload is current to at least this socket's opening seq. A
   * socket that fell behind is about to be closed (4408): start afresh from
   * the next connection's seq, or every reconnect would ask to resync again.
   */
  resynced(message) {
    // After a gap's resume the reload is newer than the connection: the next event starts afresh.
    this.lastSeq = this.resuming && !this.resumingGap ? later(this.lastSeq, this.connectionSeq) : null;
    this.resuming = this.resumingGap = false;
    this.versions.clear(); // the reload shows what is current
    if (this.options.onResync) this.options.onResync(message);
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    for (const name of ["heartbeat", "silence", "flush"]) this.clearTimer(name);
    if (this.closedByPage) return;
    if (STOP_CODES.has(code)) {
      this.stopPolling();
      return this.setStatus("unauthorized");
    }
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    if (this.attempt > 1) this.startPolling(); // one blip is not worth a poll; a failed reconnect is
    this.setStatus(this.timers.poll ? "polling" : "reconnecting");
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }

  armSilenceTimer() {
    this.clearTimer("silence");
    // A link can die without a close frame (a sleeping laptop, a dropped NAT
    // entry), and then the browser may take minutes to report the close: stop
    // listening to that socket and move on at once.
    this.timers.silence = setTimeout(() => {
      const socket = this.socket;
      socket.onmessage = socket.onclose = socket.onerror = null;
      socket.close(CLOSE_SILENT);
      this.closed(socket, CLOSE_SILENT);
    }, SILENCE_LIMIT_MS);
  }

  startPolling() {
    const { pollUrl, onPoll, pollIntervalMs } = this.options;
    if (!pollUrl || this.timers.poll) return;
    const poll = async () => {
      try {
        const response = await fetch(pollUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
        // The headers go along: X-Stream-Seq says how current the answer is.
        if (response.ok && onPoll && this.timers.poll) onPoll(await response.json(), response.headers);
      } catch (error) {
        console.debug("[realtime] poll failed", error);
      }
    };
    this.timers.poll = setInterval(poll, pollIntervalMs);
    poll();
  }

  stopPolling() { this.clearTimer("poll"); }

  clearTimer(name) {
    clearTimeout(this.timers[name]);
    clearInterval(this.timers[name]);
    this.timers[name] = null;
  }

  clearTimers() { for (const name of Object.keys(this.timers)) this.clearTimer(name); }

  setStatus(status) {
    this.status = status;
    document.documentElement.dataset.realtime = status;
    if (this.options.onStatus) this.options.onStatus(status);
  }
}
