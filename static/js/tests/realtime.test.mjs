// Unit tests of static/js/realtime.js with Node's own runner: `node --test static/js/tests/`.
// The browser is faked just enough: a WebSocket the test plays the server
// through, location, document, fetch, and Node's mock timers.
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    this.sent = [];
    FakeSocket.instances.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code = 1000) {
    this.readyState = 3;
    if (this.onclose) this.onclose({ code });
  }
  // What the server does.
  deliver(message) { this.onmessage({ data: JSON.stringify(message) }); }
  welcome(seq = 0) {
    this.readyState = FakeSocket.OPEN;
    this.deliver({ type: "connection", data: { status: "connected", seq }, meta: {} });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose({ code });
  }
}

globalThis.WebSocket = FakeSocket;
globalThis.location = { protocol: "http:", host: "127.0.0.1:8000" };
globalThis.document = { documentElement: { dataset: {} } };

const { RealtimeClient, backoffDelay } = await import("../realtime.js");

const realRandom = Math.random;
let fetches;
beforeEach(() => {
  FakeSocket.instances = [];
  fetches = [];
  globalThis.fetch = async (url, init) => {
    const polled = fetches.push({ url, init });
    return { ok: true, json: async () => ({ polled }) };
  };
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
});
afterEach(() => {
  mock.timers.reset();
  Math.random = realRandom;
});

const latest = () => FakeSocket.instances.at(-1);
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Drops the current socket and returns how many ms pass before the client opens the next one. */
function reconnectDelay(code = 1006) {
  const before = FakeSocket.instances.length;
  latest().drop(code);
  for (let waited = 0; waited <= 60000; waited += 100) {
    if (FakeSocket.instances.length > before) return waited;
    mock.timers.tick(100);
  }
  return Infinity;
}

test("reconnect delays double from 1 s and are capped at 30 s", () => {
  Math.random = () => 0.5; // the middle of every jitter window
  const client = new RealtimeClient("/ws/alerts");
  client.connect();
  const delays = Array.from({ length: 8 }, () => reconnectDelay());
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  Math.random = () => 0.9999;
  assert.ok(backoffDelay(40) < 30000, "the cap holds however many attempts failed");
  assert.equal(backoffDelay(3, () => 0), 0, "full jitter may retry at once");
});

test("a connection frame resets the backoff", () => {
  Math.random = () => 0.5;
  const client = new RealtimeClient("/ws/alerts");
  client.connect();
  reconnectDelay();
  reconnectDelay();
  assert.equal(reconnectDelay(), 2000);
  latest().welcome();
  assert.equal(reconnectDelay(), 500);
});

test("the socket URL follows the page's scheme and host", () => {
  new RealtimeClient("/ws/metrics").connect();
  assert.equal(latest().url, "ws://127.0.0.1:8000/ws/metrics");
  globalThis.location = { protocol: "https:", host: "ops.example" };
  try {
    new RealtimeClient("/ws/alerts").connect();
    assert.equal(latest().url, "wss://ops.example/ws/alerts");
  } finally {
    globalThis.location = { protocol: "http:", host: "127.0.0.1:8000" };
  }
});

test("messages sent while offline keep the newest 100 and flush in order, paced under the rate limit", () => {
  const client = new RealtimeClient("/ws/alerts");
  client.connect();
  for (let n = 0; n < 120; n++) client.send({ type: "ping", data: { n } });
  latest().welcome();
  const counts = [latest().sent.length];
  client.send({ type: "ping", data: { n: "late" } }); // sent during the flush: must not jump the queue
  for (let second = 0; second < 8; second++) {
    mock.timers.tick(1000);
    counts.push(latest().sent.length);
  }
  const perSecond = counts.map((count, i) => count - (counts[i - 1] || 0));
  assert.ok(perSecond.every((sent) => sent <= 20), `at most 20 frames a second, got ${perSecond}`);
  assert.deepEqual(latest().sent.map((message) => message.data.n), [...Array.from({ length: 100 }, (_, i) => i + 20), "late"]);
});

test("after a reconnect the client resumes from the last seq it saw", () => {
  Math.random = () => 0.5;
  const client = new RealtimeClient("/ws/alerts");
  client.connect();
  latest().welcome(4);
  assert.equal(latest().sent.length, 0, "a first connection without a rendered seq has nothing to resume");
  latest().deliver({ type: "alert", data: {}, meta: { seq: 5 } });
  latest().deliver({ type: "alert", data: {}, meta: { seq: 6 } });
  reconnectDelay();
  latest().welcome(9);
  assert.deepEqual(latest().sent, [{ type: "resume", data: { since: 6 } }]);
});

test("subscription and interval are re-sent on reconnect, before the resume", () => {
  Math.random = () => 0.5;
  const client = new RealtimeClient("/ws/alerts", { since: 3 });
  client.subscribe(["alert", "incident"], { severity: ["critical"] }); // before the first connection
  client.connect();
  latest().welcome(3);
  client.unsubscribe(["incident"]);
  client.setInterval(500);
  reconnectDelay();
  latest().welcome(3);
  assert.deepEqual(latest().sent, [
    { type: "subscribe", data: { events: ["alert"], filters: { severity: ["critical"] } } },
    { type: "set_interval", data: { ms: 500 } },
    { type: "resume", data: { since: 3 } },
  ]);
});

test("batch frames are dispatched message by message, in order", () => {
  const client = new RealtimeClient("/ws/metrics");
  const seen = [];
  client.on("performance", (message) => seen.push(message.meta.seq));
  const off = client.on("metrics", () => seen.push("unsubscribed handler ran"));
  off();
  client.connect();
  latest().welcome();
  const inner = [1, 2, 3].map((seq) => ({ type: seq === 2 ? "metrics" : "performance", data: {}, meta: { seq } }));
  latest().deliver({ type: "batch", data: { messages: inner }, meta: { count: 3 } });
  latest().deliver({ type: "performance", data: {}, meta: { seq: 4 } });
  assert.deepEqual(seen, [1, 3, 4]);
  assert.equal(client.lastSeq, 4);
});

test("a 4401 close stops reconnecting, stops polling and reports unauthorized", () => {
  Math.random = () => 0.5;
  const statuses = [];
  const client = new RealtimeClient("/ws/alerts", { pollUrl: "/api/v1/stats/", onStatus: (status) => statuses.push(status) });
  client.connect();
  reconnectDelay();
  reconnectDelay(); // now polling
  latest().drop(4401);
  const polled = fetches.length;
  mock.timers.tick(300000);
  assert.equal(FakeSocket.instances.length, 3);
  assert.equal(fetches.length, polled);
  assert.equal(statuses.at(-1), "unauthorized");
  assert.equal(document.documentElement.dataset.realtime, "unauthorized");
});

test("while the socket stays down the client polls REST, and stops once connected", async () => {
  Math.random = () => 0.5;
  const polled = [];
  const client = new RealtimeClient("/ws/alerts", { pollUrl: "/api/v1/stats/", pollIntervalMs: 5000, onPoll: (body) => polled.push(body) });
  client.connect();
  latest().welcome();
  reconnectDelay();
  assert.equal(fetches.length, 0, "a single drop is only a reconnect");
  assert.equal(client.status, "reconnecting");
  reconnectDelay();
  assert.equal(client.status, "polling");
  assert.equal(document.documentElement.dataset.realtime, "polling");
  mock.timers.tick(5000);
  await settle();
  assert.equal(fetches.length, 2);
  assert.deepEqual(fetches[0], { url: "/api/v1/stats/", init: { credentials: "same-origin", headers: { Accept: "application/json" } } });
  assert.deepEqual(polled, [{ polled: 1 }, { polled: 2 }]);
  latest().welcome();
  const whenConnected = fetches.length;
  mock.timers.tick(60000);
  assert.equal(fetches.length, whenConnected);
  assert.equal(client.status, "connected");
});

test("resync_required calls onResync and the next resume starts from the seq the socket opened at", () => {
  Math.random = () => 0.5;
  const resyncs = [];
  const client = new RealtimeClient("/ws/alerts", { since: 3, onResync: (frame) => resyncs.push(frame.data.since) });
  client.connect();
  latest().welcome(500);
  assert.deepEqual(latest().sent, [{ type: "resume", data: { since: 3 } }]);
  latest().deliver({ type: "resync_required", data: { since: 3, reason: "gone" }, meta: {} });
  assert.deepEqual(resyncs, [3]);
  reconnectDelay();
  latest().welcome(510);
  assert.deepEqual(latest().sent, [{ type: "resume", data: { since: 500 } }]);
});

test("request_data resolves with the next data frame and rejects after 10 s without one", async () => {
  const client = new RealtimeClient("/ws/metrics");
  client.connect();
  latest().welcome();
  const answer = client.requestData(["cpu_percent"], 10);
  assert.deepEqual(latest().sent.at(-1), { type: "request_data", data: { metrics: ["cpu_percent"], history_minutes: 10 } });
  latest().deliver({ type: "data", data: { series: [] }, meta: {} });
  assert.deepEqual((await answer).data, { series: [] });
  const unanswered = client.requestData(["memory_percent"], 5);
  mock.timers.tick(10000);
  await assert.rejects(unanswered, /timed out/);
});

test("a ping goes out every 30 s and a socket silent for 75 s is abandoned and replaced", () => {
  Math.random = () => 0.5;
  const client = new RealtimeClient("/ws/metrics");
  client.connect();
  latest().welcome();
  mock.timers.tick(30000);
  assert.deepEqual(latest().sent, [{ type: "ping" }]);
  mock.timers.tick(44999);
  assert.equal(FakeSocket.instances.length, 1, "still inside the silence limit");
  mock.timers.tick(1);
  assert.equal(FakeSocket.instances[0].readyState, 3);
  assert.equal(client.status, "reconnecting");
  mock.timers.tick(500);
  assert.equal(FakeSocket.instances.length, 2);
});

test("close() stops everything and reports closed", () => {
  const client = new RealtimeClient("/ws/metrics", { pollUrl: "/api/v1/stats/" });
  client.connect();
  latest().welcome();
  client.close();
  mock.timers.tick(300000);
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(fetches.length, 0);
  assert.equal(document.documentElement.dataset.realtime, "closed");
});

test("a gap in meta.seq asks to resume from the last seq seen, and the event past the gap waits for the replay", () => {
  const client = new RealtimeClient("/ws/alerts");
  const seen = [];
  client.on("alert", (message) => seen.push(message.meta.seq));
  client.connect();
  latest().welcome(10);
  latest().deliver({ type: "alert", data: { id: 1, version: 1 }, meta: { seq: 11 } });
  latest().deliver({ type: "alert", data: { id: 1, version: 3 }, meta: { seq: 13 } }); // 12 was lost
  assert.deepEqual(latest().sent, [{ type: "resume", data: { since: 11 } }]);
  latest().deliver({ type: "alert", data: { id: 2, version: 1 }, meta: { seq: 14 } }); // in flight: one resume only
  assert.equal(latest().sent.length, 1);
  for (const seq of [12, 13, 14]) latest().deliver({ type: "alert", data: { id: seq, version: 1 }, meta: { seq } });
  latest().deliver({ type: "resumed", data: { since: 11, count: 3, seq: 14, source: "buffer" }, meta: {} });
  latest().deliver({ type: "alert", data: { id: 2, version: 1 }, meta: { seq: 14 } }); // a copy
  assert.deepEqual(seen, [11, 12, 13, 14]);
  assert.equal(client.lastSeq, 14);
});

test("a summary whose at_seq is past the last seq seen asks to resume; one that is not does nothing", () => {
  const client = new RealtimeClient("/ws/alerts");
  client.connect();
  latest().welcome(7);
  latest().deliver({ type: "alert_summary", data: {}, meta: { at_seq: 7 } });
  assert.deepEqual(latest().sent, []);
  latest().deliver({ type: "alert_summary", data: {}, meta: { at_seq: 9 } });
  assert.deepEqual(latest().sent, [{ type: "resume", data: { since: 7 } }]);
});

test("an alert older than the version shown is dropped, and a deleted alert stays deleted", () => {
  const client = new RealtimeClient("/ws/alerts");
  const seen = [];
  client.on("alert", (message) => seen.push(message.data.version));
  client.noteVersions("alert", [{ id: 5, version: 4 }]);
  client.connect();
  latest().welcome(0);
  latest().deliver({ type: "alert", data: { id: 5, version: 3 }, meta: { seq: 1 } });
  latest().deliver({ type: "alert", data: { id: 5, version: 5 }, meta: { seq: 2 } });
  latest().deliver({ type: "alert_deleted", data: { id: 5 }, meta: { seq: 3 } });
  latest().deliver({ type: "alert", data: { id: 5, version: 6 }, meta: { seq: 4 } });
  assert.deepEqual(seen, [5]);
});

test("a socket subscribed to some events skips seqs without resuming", () => {
  const client = new RealtimeClient("/ws/alerts");
  client.subscribe(["incident"]);
  client.connect();
  latest().welcome(0);
  latest().sent.length = 0;
  latest().deliver({ type: "incident", data: { id: 1, version: 2 }, meta: { seq: 5 } });
  assert.deepEqual(latest().sent, []);
  assert.equal(client.lastSeq, 5);
});

test("a position past the last seq asks to resume, also on a socket subscribed only to incidents", () => {
  const client = new RealtimeClient("/ws/alerts");
  client.subscribe(["incident"]);
  client.connect();
  latest().welcome(7);
  latest().sent = []; // the subscription
  latest().deliver({ type: "position", data: { seq: 7 }, meta: { at_seq: 7 } });
  assert.deepEqual(latest().sent, []);
  latest().deliver({ type: "position", data: { seq: 9 }, meta: { at_seq: 9 } });
  assert.deepEqual(latest().sent, [{ type: "resume", data: { since: 7 } }]);
});

test("a position on /ws/status past the last seq asks to resume", () => {
  const client = new RealtimeClient("/ws/status");
  client.connect();
  latest().welcome(3);
  latest().deliver({ type: "status", data: {}, meta: { seq: 4 } });
  latest().deliver({ type: "position", data: { seq: 4 }, meta: { at_seq: 4 } });
  assert.deepEqual(latest().sent, []);
  latest().deliver({ type: "position", data: { seq: 6 }, meta: { at_seq: 6 } });
  assert.deepEqual(latest().sent, [{ type: "resume", data: { since: 4 } }]);
});

test("an incident reloaded over REST older than the one pushed is not current; a newer one is, and holds", () => {
  const client = new RealtimeClient("/ws/alerts");
  const pushed = [];
  client.on("incident", (message) => pushed.push(message.data.version));
  client.connect();
  latest().welcome(0);
  latest().deliver({ type: "incident", data: { id: 3, version: 5 }, meta: { seq: 1 } });
  assert.equal(client.isCurrent("incident", { id: 3, version: 4 }), false); // the reload crossed the push
  assert.equal(client.isCurrent("incident", { id: 3, version: 5 }), true);
  assert.equal(client.isCurrent("incident", { id: 3, version: 7 }), true);
  latest().deliver({ type: "incident", data: { id: 3, version: 6 }, meta: { seq: 2 } }); // older than the reload
  assert.deepEqual(pushed, [5]);
  assert.equal(client.isCurrent("alert", { id: 3, version: 1 }), true); // an alert is not the incident of that id
});
