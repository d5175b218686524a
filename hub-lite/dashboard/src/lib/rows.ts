/** The client-side list of rows: bounded, ordered by hub sequence number, without duplicates. */

import type { Row } from "./types.ts";

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
