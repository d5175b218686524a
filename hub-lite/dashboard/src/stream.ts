/** The live stream of rows (`/api/v1/stream`, a WebSocket): connects, reconnects with backoff, and changes
 * the filter in place with `{"type": "filter"}` messages. */

import { apiUrl, AuthError, getJson } from "./api.ts";
import type { Health, Row } from "./lib/types.ts";

/** Rows asked for on connect and on a filter change (the API's maximum). */
export const REPLAY = 100_000;

export type StreamState = "connecting" | "open" | "closed" | "unauthorized";

export interface StreamHandlers {
  rows(rows: unknown[]): void;
  /** The filter in force changed (ok) or was refused (with the hub's error and column). */
  filter(ack: { q: string; ok: boolean; column?: number; error?: string }): void;
  missed(count: number): void;
  health(h: Health): void;
  state(s: StreamState): void;
}

export class StreamClient {
  private ws: WebSocket | null = null;
  private q: string;
  private retry = 0;
  private timer: number | undefined;
  private stopped = false;

  constructor(
    q: string,
    private readonly on: StreamHandlers,
  ) {
    this.q = q;
    this.connect();
  }

  /** Changes the filter; the hub answers with a `filter` message, then replays matching rows. */
  setFilter(q: string): void {
    this.q = q;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "filter", q, replay: REPLAY }));
    }
    // Not open: the next connection carries the new filter in its URL.
  }

  close(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.ws?.close();
  }

  private connect(): void {
    if (this.stopped) return;
    this.on.state("connecting");
    const url = new URL(apiUrl("stream", { q: this.q, replay: REPLAY }), location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.retry = 0;
      this.on.state("open");
    };
    ws.onmessage = (ev) => this.message(ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.on.state("closed");
      // A browser does not tell why a WebSocket upgrade failed: ask the API whether it was the token.
      if (!opened) {
        getJson("session").then(
          () => this.schedule(),
          (e) => (e instanceof AuthError ? this.on.state("unauthorized") : this.schedule()),
        );
      } else {
        this.schedule();
      }
    };
  }

  private schedule(): void {
    const delay = Math.min(10_000, 500 * 2 ** this.retry);
    this.retry = Math.min(this.retry + 1, 5);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  private message(data: unknown): void {
    if (typeof data !== "string") return;
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof msg !== "object" || msg === null) return;
    const m = msg as Record<string, unknown>;
    switch (m.type) {
      case "entries":
        if (Array.isArray(m.entries)) this.on.rows(m.entries);
        break;
      case "missed":
        if (typeof m.count === "number") this.on.missed(m.count);
        break;
      case "filter":
        this.on.filter({
          q: typeof m.q === "string" ? m.q : "",
          ok: m.ok === true,
          column: typeof m.column === "number" ? m.column : undefined,
          error: typeof m.error === "string" ? m.error : undefined,
        });
        break;
      case "health":
        if (Array.isArray(m.agents)) this.on.health(m as unknown as Health);
        break;
    }
  }
}

export type { Row };
