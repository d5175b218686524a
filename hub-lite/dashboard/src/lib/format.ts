/** Formatting of numbers, times and endpoints for display. Pure functions. */

import type { Endpoint } from "./types.ts";

/** `1.5 kB`, `12 B` (decimal units, as network tools do). */
export function formatBytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "";
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Microseconds as `249µs`, `15.6ms`, `2.31s`. */
export function formatDuration(us: number | null | undefined): string {
  if (us == null || !Number.isFinite(us)) return "";
  if (us < 1000) return `${Math.round(us)}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

/** The time of day of an RFC 3339 timestamp with milliseconds, `06:09:47.636` (UTC, like the CLI). */
export function formatTime(ts: string): string {
  const m = /T(\d\d:\d\d:\d\d)(\.\d{1,3})?/.exec(ts);
  if (!m) return ts;
  return m[1] + (m[2] ?? ".000").padEnd(4, "0");
}

/** An endpoint by its best name: service, else pod (with namespace), else ip:port. */
export function formatEndpoint(e: Endpoint | null | undefined): string {
  if (!e) return "?";
  const ns = e.namespace ? `${e.namespace}/` : "";
  if (e.service) return `${ns}${e.service}:${e.port}`;
  if (e.pod) return `${ns}${e.pod}`;
  return e.ip.includes(":") ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** CSS class of an outcome (docs/entry.md): the colour of a status is its entry's common outcome, which the
 * protocol's dissector set, so no status text of any protocol is interpreted here. Unknown or absent
 * outcomes get no colour. */
export function outcomeClass(outcome: string | null | undefined): string {
  return (outcome != null && OUTCOME_CLASSES.get(outcome)) || "";
}

/** The outcomes in the order of docs/entry.md, with their classes. */
export const OUTCOME_CLASSES: ReadonlyMap<string, string> = new Map([
  ["ok", "st-ok"],
  ["client_error", "st-client"],
  ["server_error", "st-server"],
  ["error", "st-error"],
  ["no_response", "st-none"],
]);

/** A short integer with thousands separators. */
export function formatCount(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "";
  return Math.round(n).toLocaleString("en-US");
}

/** A rate per second, one decimal below 100. */
export function formatRate(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return "";
  return n < 100 ? n.toFixed(1) : formatCount(n);
}
