/** The detail of MongoDB entries (docs/entry.md, MongoDB): the command (name, namespace, document and
 * document sequences, wire details) and the reply (status, counts, errors, the cursor's batch, the rest
 * of the reply document). Documents are Relaxed Extended JSON, shown as JSON text. */

import { KV, Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import type { DetailProps, Renderer } from "./registry.ts";

interface Wire {
  op?: string;
  request_id?: number;
  response_to?: number;
  flags?: string[];
  compressor?: string;
}

interface Sequence {
  identifier: string;
  count: number;
  documents: unknown[];
}

interface MongoRequest {
  command?: string;
  database?: string;
  collection?: string;
  document?: Record<string, unknown>;
  sequences?: Sequence[];
  exhaust?: boolean;
  wire?: Wire;
}

type MongoReply = Record<string, unknown> & {
  ok?: number;
  cursor?: { id?: number; ns?: string; count?: number; firstBatch?: unknown[]; nextBatch?: unknown[] };
  writeErrors?: { index?: number; code?: number; errmsg?: string }[];
  wire?: Wire;
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function json(v: unknown): string {
  return JSON.stringify(v, null, 2);
}

function wireLine(w?: Wire): string {
  if (!w) return "";
  const parts = [w.op ?? "?", `id ${w.request_id ?? "?"}`];
  if (w.response_to !== undefined) parts.push(`reply to ${w.response_to}`);
  if (w.flags && w.flags.length) parts.push(w.flags.join(" "));
  if (w.compressor) parts.push(`compressed: ${w.compressor}`);
  return parts.join(" · ");
}

function MongoView({ e, onAdd }: DetailProps) {
  const req = isObject(e.request) ? (e.request as MongoRequest) : null;
  const res = isObject(e.response) ? (e.response as MongoReply) : null;
  const batch = res?.cursor ? (res.cursor.firstBatch ?? res.cursor.nextBatch) : undefined;
  const { wire: _w, cursor: _c, ...replyRest } = res ?? {};
  return (
    <>
      <Section title="Command">
        {req ? (
          <>
            <table class="kv">
              <KV
                k="command"
                testid="mongo-command"
                v={
                  <>
                    {req.command ?? "?"}
                    {req.command && <Plus c={clause("request.command", req.command)} onAdd={onAdd} />}
                  </>
                }
              />
              {req.database && <KV k="database" testid="mongo-database" v={req.database} />}
              {req.collection && (
                <KV
                  k="collection"
                  testid="mongo-collection"
                  v={
                    <>
                      {req.collection}
                      <Plus c={clause("request.collection", req.collection)} onAdd={onAdd} />
                    </>
                  }
                />
              )}
              <KV k="wire" v={wireLine(req.wire) + (req.exhaust ? " · exhaust reply" : "")} />
            </table>
            <h4>Document</h4>
            <pre class="code" data-testid="mongo-document">
              {json(req.document ?? null)}
            </pre>
            {(req.sequences ?? []).map((s, i) => (
              <div key={i}>
                <h4>
                  {s.identifier}: {s.count} documents{s.count > s.documents.length ? ` (first ${s.documents.length})` : ""}
                </h4>
                <pre class="code" data-testid="mongo-sequence">
                  {json(s.documents)}
                </pre>
              </div>
            ))}
          </>
        ) : (
          <div class="muted">command not captured</div>
        )}
      </Section>
      <Section title="Reply">
        {res ? (
          <>
            <div class="startline">
              <b class={outcomeClass(e.outcome)} data-testid="mongo-status">
                {e.status ?? "no status"}
              </b>
              {e.status && <Plus c={clause("status", e.status)} onAdd={onAdd} />} · {wireLine(res.wire)}
            </div>
            {res.cursor && (
              <>
                <h4 data-testid="mongo-batch-count">
                  cursor {res.cursor.ns ?? ""} · id {res.cursor.id ?? 0} · {res.cursor.count ?? 0} documents
                  {batch && (res.cursor.count ?? 0) > batch.length ? ` (first ${batch.length})` : ""}
                </h4>
                <pre class="code" data-testid="mongo-batch">
                  {json(batch ?? [])}
                </pre>
              </>
            )}
            <h4>Reply document</h4>
            <pre class="code" data-testid="mongo-reply">
              {json(replyRest)}
            </pre>
          </>
        ) : (
          <div class="muted">{req?.wire?.flags?.includes("moreToCome") ? "no reply expected (moreToCome)" : "no reply"}</div>
        )}
      </Section>
    </>
  );
}

/** The handshake and monitoring commands drivers send every few seconds on their own. */
const HEARTBEAT = /^(hello|isMaster|ismaster)( |$)/;

export const mongodb: Renderer = {
  Detail: MongoView,
  // Driver heartbeats are listed only when the user asks (the list's chip): they drown the app's commands.
  hide: { what: "heartbeats", matches: (r) => HEARTBEAT.test(r.summary) },
};
