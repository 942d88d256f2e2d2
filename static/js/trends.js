// The dashboard's trend data, apart from the page: which host a pushed or polled value belongs to, and when it is new.

/** Appends [at, value] unless a point at or after `at` is already there; keeps the newest `limit`. True when added. */
export function appendPoint(points, at, value, limit) {
  if (typeof value !== "number" || !Number.isFinite(at)) return false;
  if (points.length && points[points.length - 1][0] >= at) return false; // a push and a poll can bring the same point
  points.push([at, value]);
  if (points.length > limit) points.splice(0, points.length - limit);
  return true;
}

/**
 * Latest values (a `metrics` push's or GET /api/v1/metrics/latest/'s series) as
 * Map(host → {metric: [at ms, value]}), for the `metrics` named and for series
 * tagged with the host alone: a series with more tags is another measurement.
 */
export function latestByHost(series, metrics) {
  const hosts = new Map();
  for (const item of series || []) {
    const tags = item.tags || {};
    if (!metrics.includes(item.name) || typeof tags.host !== "string" || Object.keys(tags).length !== 1) continue;
    if (typeof item.value !== "number" || !item.timestamp) continue;
    if (!hosts.has(tags.host)) hosts.set(tags.host, {});
    hosts.get(tags.host)[item.name] = [Date.parse(item.timestamp), item.value];
  }
  return hosts;
}

/**
 * True when a copy current to stream seq `seq` may replace one current to `shownSeq`:
 * an answer that left the server before the shown push was made must not undo it.
 * An unknown seq (null) is taken: nothing says it is older.
 */
export function isCurrent(seq, shownSeq) {
  return seq === null || shownSeq === null || seq >= shownSeq;
}
