// Unit tests of static/js/realtime.js with Node's own runner: `node --test static/js/tests/`.
import assert from "node:assert/strict";
import { beforeEach, afterEach, mock, test } from "node:test";

class FakeSocket {
  static OPEN = 1;
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.instances.push(this);
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  close(code = 1000) { this.readyState = 3; this.onclose && this.onclose({ code }); }
  // Test helpers: what the server would do.
  open() { this.readyState = FakeSocket.OPEN; }
  deliver(message) { this.onmessage({ data: JSON.stringify(message) }); }
  welcome(seq = 0) { this.open(); this.deliver({ type: "connection", data: { status: "connected", seq }, meta: {} }); }
  drop(code = 1006) { this.readyState = 3; this.onclose({ code }); }
}

globalThis.WebSocket = FakeSocket;
globalThis.location = { protocol: "http:", host: "127.0.0.1:8000" };
globalThis.document = { documentElement: { dataset: {} } };

const { RealtimeClient, backoffDelay } = await import("../realtime.js");

let polls;
beforeEach(() => {
  FakeSocket.instances = [];
  polls = [];
  globalThis.fetch = async (url) => { polls.push(url); return { ok: true, json: async () => ({ polled: true }) }; };
  mock.timers.enable({ apis: ["setTimeout", "setInterval"] });
});
afterEach(() => mock.timers.reset());

const latest = () => FakeSocket.instances.at(-1);

test("backoff doubles from 1 s and is capped at 30 s", () => {
  const top = () => 1; // the largest delay jitter allows
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10].map((n) => backoffDelay(n, top)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelay(3, () => 0), 500, "jitter never goes below half the base");
});

test("the socket URL follows the page's scheme and host", () => {
  const client = new RealtimeClient("/ws/metrics");
  client.connect();
  assert.equal(latest().url, "ws://127.0.0.1:8000/ws/metrics");
});

test("messages sent while offline are buffered, capped at 100, and flushed in order", () => {
  const client = new RealtimeClient("/ws/alerts");
  client.connect();
  for (let n = 0; n < 120; n++) client.send({ type: "ping", data: { n } });
  latest().welcome();
  const sent = latest().sent.map((message) => message.data.n);
  assert.equal(sent.length, 100);
  assert.deepEqual(sent, Array.from({ length: 100 }, (_, i) => i + 20));
});

test("after a reconnect the client resumes from the last seq it saw", () => {
  const client = new RealtimeClient("/ws/alerts");
  client.connect();
  latest().welcome(4);
  latest().deliver({ type: "alert", data: {}, meta: { seq: 5 } });
  latest().deliver({ type: "alert", data: {}, meta: { seq: 6 } });
  latest().drop();
  mock.timers.tick(30000);
  latest().welcome(9);
  assert.deepEqual(latest().sent[0], { type: "resume", data: { since: 6 } });
});

test("batch frames are dispatched message by message, in order", () => {
  const client = new RealtimeClient("/ws/metrics");
  const seen = [];
  client.on("performance", (message) => seen.push(message.meta.seq));
  client.connect();
  latest().welcome();
  latest().deliver({ type: "batch", data: { messages: [1, 2, 3].map((seq) => ({ type: "performance", data: {}, meta: { seq } })) }, meta: {} });
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(client.lastSeq, 3);
});

test("a 4401 close stops reconnecting and reports unauthorized", () => {
  const statuses = [];
  const client = new RealtimeClient("/ws/alerts", { onStatus: (status) => statuses.push(status) });
  client.connect();
  latest().drop(4401);
  mock.timers.tick(120000);
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(statuses.at(-1), "unauthorized");
  assert.equal(document.documentElement.dataset.realtime, "unauthorized");
});

test("while the socket stays down the client polls REST, and stops once connected", () => {
  const polled = [];
  const client = new RealtimeClient("/ws/alerts", { pollUrl: "/api/v1/stats/", pollIntervalMs: 30000, onPoll: (body) => polled.push(body) });
  client.connect();
  latest().drop();
  assert.equal(polls.length, 0, "a single drop is only a reconnect");
  mock.timers.tick(30000);
  latest().drop();
  assert.equal(client.status, "polling");
  assert.equal(polls.length, 1);
  mock.timers.tick(30000);
  latest().welcome();
  const pollsWhenConnected = polls.length;
  mock.timers.tick(60000); // two poll periods, short of the silence limit
  assert.equal(polls.length, pollsWhenConnected);
  assert.equal(client.status, "connected");
});

test("request_data resolves with the next data frame", async () => {
  const client = new RealtimeClient("/ws/metrics");
  client.connect();
  latest().welcome();
  const answer = client.requestData(["cpu_percent"], 10);
  assert.deepEqual(latest().sent.at(-1), { type: "request_data", data: { metrics: ["cpu_percent"], history_minutes: 10 } });
  latest().deliver({ type: "data", data: { series: [] }, meta: {} });
  assert.deepEqual((await answer).data, { series: [] });
});

test("a silent socket is closed and replaced", () => {
  const client = new RealtimeClient("/ws/metrics");
  client.connect();
  latest().welcome();
  mock.timers.tick(75000);
  assert.equal(FakeSocket.instances[0].readyState, 3);
  mock.timers.tick(30000);
  assert.equal(FakeSocket.instances.length, 2);
});
