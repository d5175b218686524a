/** Presenting a captured body: pretty JSON, form fields, text, or a hex dump of binary content. */

import type { Body } from "./types.ts";

export type BodyView =
  | { kind: "empty" }
  | { kind: "json"; text: string }
  | { kind: "form"; fields: [string, string][] }
  | { kind: "text"; text: string }
  | { kind: "hex"; text: string; shown: number; total: number };

/** Bytes of binary bodies shown as hex; the rest is counted, not rendered. */
export const HEX_LIMIT = 64 * 1024;

/** Chooses how to show a body from its mime type and content. */
export function viewBody(body: Body | null | undefined): BodyView {
  if (!body) return { kind: "empty" };
  const mime = (body.mime ?? "").toLowerCase();
  if (body.base64 !== undefined) {
    const bytes = decodeBase64(body.base64);
    if (bytes === null) return { kind: "text", text: body.base64 };
    if (bytes.length === 0) return { kind: "empty" };
    const shown = Math.min(bytes.length, HEX_LIMIT);
    return { kind: "hex", text: hexDump(bytes.subarray(0, shown)), shown, total: bytes.length };
  }
  const text = body.text ?? "";
  if (text === "") return { kind: "empty" };
  if (mime.includes("json") || (mime === "" && /^\s*[[{]/.test(text))) {
    const pretty = prettyJson(text);
    if (pretty !== null) return { kind: "json", text: pretty };
  }
  if (mime === "application/x-www-form-urlencoded") return { kind: "form", fields: parseForm(text) };
  return { kind: "text", text };
}

/** JSON indented by two spaces, or null when the text is not JSON. */
export function prettyJson(text: string): string | null {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

/** `a=1&b=x%20y` as name/value pairs, percent- and plus-decoded (malformed escapes are kept as written). */
export function parseForm(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    out.push([formDecode(name), formDecode(value)]);
  }
  return out;
}

function formDecode(s: string): string {
  const plus = s.replace(/\+/g, " ");
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

/** Standard base64 to bytes, or null when it is not base64. */
export function decodeBase64(b64: string): Uint8Array | null {
  try {
    const bin = atob(b64.replace(/\s+/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/** Classic hex dump: offset, 16 bytes in hex (two groups of 8), and the printable ASCII. */
export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const chunk = bytes.subarray(off, Math.min(off + 16, bytes.length));
    let hex = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += " ";
      const b = chunk[i];
      if (b === undefined) {
        hex += "   ";
      } else {
        hex += b.toString(16).padStart(2, "0") + " ";
        ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
      }
    }
    lines.push(`${off.toString(16).padStart(8, "0")}  ${hex} |${ascii}|`);
  }
  return lines.join("\n");
}
