// Unit tests of the dashboard's trend data (static/js/trends.js) and the time range rules (static/js/timerange.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { appendPoint, isCurrent, latestByHost } from "../trends.js";

// ui.js reads the page's language when it loads: a window and document just big enough for that.
globalThis.window = globalThis;
globalThis.document = { documentElement: { lang: "en", dataset: {} } };
const { localInput, rangeError, rangeFromQuery } = await import("../timerange.js");

test("a point at or before the last one is not added twice", () => {
  const points = [[1000, 5]];
  assert.equal(appendPoint(points, 1000, 6, 10), false);
  assert.equal(appendPoint(points, 900, 6, 10), false);
  assert.equal(appendPoint(points, 2000, 7, 10), true);
  assert.deepEqual(points, [[1000, 5], [2000, 7]]);
});

test("the window keeps only the newest points", () => {
  const points = [];
  for (let at = 1; at <= 5; at++) appendPoint(points, at, at, 3);
  assert.deepEqual(points.map(([at]) => at), [3, 4, 5]);
});

test("a value that is not a number is not drawn", () => {
  const points = [];
  assert.equal(appendPoint(points, 1000, null, 3), false);
  assert.equal(appendPoint(points, NaN, 1, 3), false);
  assert.deepEqual(points, []);
});

test("latest values are grouped by host, for the host's own series only", () => {
  const series = [
    { name: "cpu_percent", tags: { host: "a" }, value: 10, timestamp: "2026-12-04T10:00:00Z" },
    { name: "memory_percent", tags: { host: "a" }, value: 20, timestamp: "2026-12-04T10:00:01Z" },
    { name: "cpu_percent", tags: { host: "b" }, value: 30, timestamp: "2026-12-04T10:00:00Z" },
    { name: "cpu_percent", tags: { host: "b", core: "0" }, value: 99, timestamp: "2026-12-04T10:00:00Z" },
    { name: "queue_depth", tags: { host: "b" }, value: 4, timestamp: "2026-12-04T10:00:00Z" },
    { name: "cpu_percent", tags: {}, value: 1, timestamp: "2026-12-04T10:00:00Z" },
  ];
  const byHost = latestByHost(series, ["cpu_percent", "memory_percent"]);
  assert.deepEqual([...byHost.keys()], ["a", "b"]);
  assert.deepEqual(byHost.get("a"), { cpu_percent: [Date.parse("2026-12-04T10:00:00Z"), 10], memory_percent: [Date.parse("2026-12-04T10:00:01Z"), 20] });
  assert.deepEqual(byHost.get("b"), { cpu_percent: [Date.parse("2026-12-04T10:00:00Z"), 30] });
});

test("an answer older than the shown push is not current; an unknown seq is", () => {
  assert.equal(isCurrent(4, 5), false);
  assert.equal(isCurrent(5, 5), true);
  assert.equal(isCurrent(6, 5), true);
  assert.equal(isCurrent(null, 5), true);
  assert.equal(isCurrent(3, null), true);
});

test("a range whose start is not before its end is refused with a reason", () => {
  assert.equal(rangeError(2000, 1000), "The start must be before the end.");
  assert.equal(rangeError(1000, 1000), "The start must be before the end.");
  assert.equal(rangeError(NaN, 1000), "Give both a start and an end time.");
  assert.equal(rangeError(1000, 2000), "");
});

test("the URL names a custom range, a preset, or the page's default", () => {
  const presets = [15, 60, 1440];
  assert.deepEqual(rangeFromQuery("?from=2026-12-01T10:00:00.000Z&to=2026-12-01T12:00:00.000Z", presets, 60),
    { from: Date.parse("2026-12-01T10:00:00Z"), to: Date.parse("2026-12-01T12:00:00Z") });
  assert.deepEqual(rangeFromQuery("?minutes=1440", presets, 60), { minutes: 1440 });
  assert.deepEqual(rangeFromQuery("?minutes=7", presets, 60), { minutes: 60 });
  // A backwards or unreadable range in a pasted link falls back rather than drawing nothing.
  assert.deepEqual(rangeFromQuery("?from=2026-12-01T12:00:00Z&to=2026-12-01T10:00:00Z", presets, null), { minutes: null });
  assert.deepEqual(rangeFromQuery("?from=yesterday", presets, 60), { minutes: 60 });
});

test("a time is shown in a datetime-local field as local time to the minute", () => {
  const at = new Date(2026, 11, 4, 9, 5, 30).getTime();
  assert.equal(localInput(at), "2026-12-04T09:05");
  assert.equal(Date.parse(localInput(at)), new Date(2026, 11, 4, 9, 5).getTime());
});
