/** Presenting gRPC entries (docs/entry.md, gRPC): the shapes of a call's request and response, and how
 * one message is shown. Pure functions; the renderer is protocols/grpc.tsx. */

import { decodeBase64, HEX_LIMIT, hexDump } from "./body.ts";

/** One length-prefixed message of a call, as the dissector wrote it: the frame's flag and length, then
 * the payload decoded with the schema (`type` + `json`), without one (`raw`: field numbers), or as bytes
 * (`base64`: not a protobuf message, or cut short). */
export interface GrpcMessage {
  compressed?: boolean;
  size?: number;
  truncated?: boolean;
  type?: string;
  json?: unknown;
  raw?: unknown;
  fields_truncated?: boolean;
  base64?: string;
}

/** Fields both sides of a call have. */
interface GrpcSide {
  metadata?: [string, string][];
  trailers?: [string, string][];
  messages?: GrpcMessage[];
  messages_not_shown?: number;
  encoding?: string;
}

export interface GrpcRequest extends GrpcSide {
  path?: string | null;
  service?: string | null;
  method?: string | null;
  authority?: string | null;
  version?: string;
  stream_id?: number;
  timeout_us?: number | string;
}

export interface GrpcResponse extends GrpcSide {
  status?: string | null;
  code?: number | null;
  message?: string | null;
  http_status?: number | null;
  trailers_only?: boolean;
}

/** A gRPC request: an object with a `messages` list (every call's request has one, maybe empty). */
export function isGrpcRequest(v: unknown): v is GrpcRequest {
  return typeof v === "object" && v !== null && Array.isArray((v as GrpcRequest).messages);
}

/** A gRPC response: an object with a `messages` list. */
export function isGrpcResponse(v: unknown): v is GrpcResponse {
  return typeof v === "object" && v !== null && Array.isArray((v as GrpcResponse).messages);
}

/** The label of schema-less messages: their keys are protobuf field numbers, not names. */
export const SCHEMA_LESS = "schema-less (field numbers)";

/** How one message is shown: JSON text with what it is, or a hex dump of its bytes. */
export type MessageShown =
  | { kind: "schema"; label: string; text: string }
  | { kind: "raw"; label: string; text: string }
  | { kind: "bytes"; label: string; hex: string; shown: number; total: number }
  | { kind: "none"; label: string };

/** Chooses how to show a message: its schema JSON (labelled with the type), else the schema-less tree
 * (labelled {@link SCHEMA_LESS}), else its bytes as a hex dump (at most {@link HEX_LIMIT} of them). Both
 * JSON forms are indented by two spaces. */
export function showMessage(m: GrpcMessage): MessageShown {
  if (m.json !== undefined) {
    const type = typeof m.type === "string" && m.type !== "" ? m.type : "schema";
    return { kind: "schema", label: type, text: JSON.stringify(m.json, null, 2) };
  }
  if (m.raw !== undefined) {
    const label = m.fields_truncated ? `${SCHEMA_LESS}, later fields left out` : SCHEMA_LESS;
    return { kind: "raw", label, text: JSON.stringify(m.raw, null, 2) };
  }
  if (typeof m.base64 === "string") {
    const bytes = decodeBase64(m.base64);
    if (bytes === null) return { kind: "none", label: "bytes that are not base64" };
    const shown = Math.min(bytes.length, HEX_LIMIT);
    // Why there is no tree (not protobuf, not decompressible) is in the entry's notes.
    const label = m.truncated ? "bytes (the start of a message cut short)" : "bytes";
    return { kind: "bytes", label, hex: hexDump(bytes.subarray(0, shown)), shown, total: bytes.length };
  }
  return { kind: "none", label: "no payload shown" };
}

/** The status as shown: `NOT_FOUND (5)`; the name or the code alone when only one is known; null when
 * the call has no status (no trailers seen). */
export function statusText(status: string | null | undefined, code: number | null | undefined): string | null {
  const hasName = typeof status === "string" && status !== "";
  const hasCode = typeof code === "number" && Number.isFinite(code);
  if (hasName && hasCode && status !== String(code)) return `${status} (${code})`;
  if (hasName) return status;
  if (hasCode) return String(code);
  return null;
}

/** `grpc-timeout` as the dissector gives it: microseconds (formatted by `formatUs`), or the header's text
 * when it did not parse; null when the call had none. */
export function timeoutText(t: number | string | undefined, formatUs: (us: number) => string): string | null {
  if (typeof t === "number" && Number.isFinite(t)) return formatUs(t);
  if (typeof t === "string" && t !== "") return `${t} (not a valid grpc-timeout)`;
  return null;
}
