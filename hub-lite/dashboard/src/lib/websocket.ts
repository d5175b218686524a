/** Presenting WebSocket entries (docs/entry.md, WebSocket): one message each. Pure functions; the
 * renderer is protocols/websocket.tsx. */

import type { Body } from "./types.ts";

export interface WsClose {
  code?: number | null;
  name?: string | null;
  reason?: string | null;
}

export interface WsMessage {
  from: string;
  opcode: string;
  frames?: number;
  compressed?: boolean;
  handshake?: string | null;
  body?: Body;
  close?: WsClose | null;
}

/** A WebSocket message: an object with the text fields `from` and `opcode`. */
export function isWsMessage(v: unknown): v is WsMessage {
  if (typeof v !== "object" || v === null) return false;
  const m = v as WsMessage;
  return typeof m.from === "string" && typeof m.opcode === "string";
}

/** Who sent the message to whom: `client → server` or `server → client` (an unknown sender as given). */
export function directionText(from: string): string {
  if (from === "client") return "client → server";
  if (from === "server") return "server → client";
  return `from ${from}`;
}

/** A Close's code, name and reason on one line: `1000 Normal Closure: bye`, `4000: custom`, `no code`. */
export function closeText(c: WsClose): string {
  const code = typeof c.code === "number" ? String(c.code) : "no code";
  const name = c.name ? ` ${c.name}` : "";
  const reason = c.reason ? `: ${c.reason}` : "";
  return `${code}${name}${reason}`;
}
