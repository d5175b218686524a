/** The client-side list of rows: bounded, ordered by hub sequence number, without duplicates. */

import type { Entry, Row } from "./types.ts";

export const MAX_ROWS = 200_000;

export class RowBuffer {
  /** Oldest first. Replaced (never mutated in place) when trimmed, appended to otherwise. */
  rows: Row[] = [];
  /** Bumped on every change, so views can tell a new state cheaply. */
  version = 0;
  /** Rows dropped from the front to stay within `max`. */
  dropped = 0;
  private lastSeq = 0;

  constructor(readonly max: number = MAX_ROWS) {}

  /** Appends rows newer than the newest held (a reconnect's replay repeats rows: they are skipped) and
   * returns how many were added. Rows that are not objects with a numeric `seq` are ignored. */
  push(batch: unknown[]): number {
    let added = 0;
    for (const r of batch) {
      if (typeof r !== "object" || r === null) continue;
      const row = r as Row;
      if (typeof row.seq !== "number" || row.seq <= this.lastSeq || typeof row.id !== "string") continue;
      this.lastSeq = row.seq;
      this.rows.push(row);
      added++;
    }
    // Trim in steps of 10% so the copy happens rarely.
    if (this.rows.length > this.max + Math.ceil(this.max / 10)) {
      const cut = this.rows.length - this.max;
      this.rows = this.rows.slice(cut);
      this.dropped += cut;
    }
    if (added > 0) this.version++;
    return added;
  }

  /** Empties the list (a new filter's replay follows). */
  clear(): void {
    this.rows = [];
    this.lastSeq = 0;
    this.dropped = 0;
    this.version++;
  }

  get length(): number {
    return this.rows.length;
  }
}

/** The newest row with this entry id, or null (ids are unique per session; searched from the end, where
 * an entry that points back, such as a WebSocket message to its handshake, usually finds it soon). */
export function findRowById(rows: readonly Row[], id: string): Row | null {
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    if (r && r.id === id) return r;
  }
  return null;
}

/** A list row for an entry that is not in the list (filtered out, or dropped from the buffer), so the
 * detail pane can show it: the entry's row fields, `method` and `path` when its request has them as text,
 * and `seq` -1 (it has no place in the list). */
export function rowOfEntry(e: Entry): Row {
  const row: Row = {
    seq: -1,
    id: e.id,
    protocol: e.protocol,
    transport: e.transport,
    ts: e.ts,
    elapsed_us: e.elapsed_us,
    src: e.src,
    dst: e.dst,
    summary: e.summary,
    status: e.status,
    request_size: e.request_size,
    response_size: e.response_size,
  };
  if (e.outcome !== undefined) row.outcome = e.outcome;
  if (e.tls !== undefined) row.tls = e.tls;
  const req = e.request;
  if (typeof req === "object" && req !== null) {
    const { method, path } = req as { method?: unknown; path?: unknown };
    if (typeof method === "string") row.method = method;
    if (typeof path === "string") row.path = path;
  }
  return row;
}
