/** The detail of Redis entries (docs/entry.md, Redis): the command line as typed into redis-cli, and the
 * reply with its RESP type, exact size and value. Wire text is shown as text (Preact escapes it). */

import { Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { formatBytes, outcomeClass } from "../lib/format.ts";
import type { DetailProps, Renderer } from "./registry.ts";

/** A word as entries carry it: text, or a truncated / binary one. */
type Word = string | { text?: string; base64?: string; size: number; truncated?: boolean };

interface RedisRequest {
  command: string;
  subcommand?: string;
  key?: Word;
  args?: Word[];
  argc?: number;
  inline?: boolean;
}

interface RedisResponse {
  type: string;
  value?: unknown;
  size?: number;
  len?: number;
  truncated?: boolean;
  kind?: string;
  channel?: Word;
  replies?: number;
  redirect?: { kind: string; slot: number; address: string };
  attributes?: unknown;
}

function isRequest(v: unknown): v is RedisRequest {
  return typeof v === "object" && v !== null && typeof (v as RedisRequest).command === "string";
}

function isResponse(v: unknown): v is RedisResponse {
  return typeof v === "object" && v !== null && typeof (v as RedisResponse).type === "string";
}

/** A word as redis-cli would show it: quoted when it has spaces or quotes, binary as base64. */
export function wordText(w: Word): string {
  if (typeof w === "string") return /[\s"']/.test(w) || w === "" ? JSON.stringify(w) : w;
  if (w.text !== undefined) return `${JSON.stringify(w.text)}… (${formatBytes(w.size)})`;
  return `<binary ${formatBytes(w.size)}${w.truncated ? ", truncated" : ""}: ${w.base64 ?? ""}>`;
}

/** The command line: command and words, and how many words were left out. */
export function commandLine(r: RedisRequest): string {
  const args = r.args ?? [];
  const more = (r.argc ?? args.length) - args.length;
  return [r.command, ...args.map(wordText)].join(" ") + (more > 0 ? ` … (${more} more)` : "");
}

/** A reply value as text, redis-cli style for scalars, JSON for aggregates. */
function valueText(res: RedisResponse): string {
  const v = res.value;
  if (v === null || v === undefined) return "(nil)";
  if (typeof v === "string") return res.type === "integer" ? `(integer) ${v}` : v;
  if (typeof v === "number") return res.type === "integer" ? `(integer) ${v}` : String(v);
  if (typeof v === "boolean") return v ? "(true)" : "(false)";
  if (typeof v === "object" && !Array.isArray(v) && v !== null && ("text" in v || "base64" in v)) {
    return wordText(v as Word);
  }
  return JSON.stringify(v, null, 2);
}

function RedisView({ e, onAdd }: DetailProps) {
  const req = isRequest(e.request) ? e.request : null;
  const res = isResponse(e.response) ? e.response : null;
  return (
    <>
      <Section title="Command">
        {req ? (
          <>
            <pre class="code" data-testid="redis-command">{commandLine(req)}</pre>
            <div class="startline">
              {req.command}
              <Plus c={clause("request.command", req.command)} onAdd={onAdd} />
              {req.subcommand && (
                <>
                  {" "}· {req.subcommand}
                  <Plus c={clause("request.subcommand", req.subcommand)} onAdd={onAdd} />
                </>
              )}
              {typeof req.key === "string" && (
                <>
                  {" "}· key <span data-testid="redis-key">{req.key}</span>
                  <Plus c={clause("request.key", req.key)} onAdd={onAdd} />
                </>
              )}
              {req.inline ? " · inline" : ""}
            </div>
          </>
        ) : (
          <div class="muted">{res?.kind ? `pushed by the server (${res.kind})` : "command not captured"}</div>
        )}
      </Section>
      <Section title="Reply">
        {res ? (
          <>
            <div class="startline">
              <b class={outcomeClass(e.outcome)} data-testid="redis-status">{e.status}</b>
              <Plus c={clause("status", e.status ?? "")} onAdd={onAdd} /> · {res.type}
              {res.size !== undefined ? ` · ${formatBytes(res.size)}` : ""}
              {res.len !== undefined ? ` · ${res.len} elements` : ""}
              {res.truncated ? " · truncated" : ""}
              {res.replies !== undefined ? ` · ${res.replies} replies` : ""}
              {res.channel !== undefined ? ` · channel ${wordText(res.channel)}` : ""}
              {res.redirect ? ` · ${res.redirect.kind} slot ${res.redirect.slot} to ${res.redirect.address}` : ""}
            </div>
            <pre class="code" data-testid="redis-reply">{valueText(res)}</pre>
            {res.attributes !== undefined && <pre class="code">{JSON.stringify(res.attributes, null, 2)}</pre>}
          </>
        ) : (
          <div class="muted">no reply</div>
        )}
      </Section>
    </>
  );
}

export const redis: Renderer = { Detail: RedisView };
