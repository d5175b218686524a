/** The detail of Kafka entries (docs/entry.md, Kafka): the request's API and header, its topics and
 * partitions with their records (Produce), and the response's per-partition errors and records (Fetch). */

import { Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import type { DetailProps, Renderer } from "./registry.ts";

type Blob = string | { base64: string } | null;

interface KafkaRecord {
  offset: number;
  timestamp: number;
  key: Blob;
  value: Blob;
  headers?: [string, Blob][];
}

interface KafkaBatch {
  base_offset: number;
  compression: string;
  record_count: number;
  records?: KafkaRecord[];
}

interface KafkaPartition {
  partition?: number;
  error_code?: number;
  error?: string;
  records?: { size: number; batches?: KafkaBatch[]; partial_batch?: boolean } | null;
  [k: string]: unknown;
}

interface KafkaTopic {
  name?: string | null;
  topic_id?: string;
  partitions?: KafkaPartition[];
}

interface KafkaMessage {
  api?: string;
  api_version?: number;
  correlation_id?: number;
  client_id?: string | null;
  topics?: string[];
  topic_data?: KafkaTopic[] | null;
  error_code?: number;
  error?: string;
  [k: string]: unknown;
}

function asMessage(v: unknown): KafkaMessage | null {
  return typeof v === "object" && v !== null ? (v as KafkaMessage) : null;
}

function blob(b: Blob): string {
  if (b === null || b === undefined) return "null";
  return typeof b === "string" ? b : `base64:${b.base64}`;
}

/** Scalar fields of a message, other than those shown elsewhere. */
function scalars(m: KafkaMessage, skip: string[]): [string, string][] {
  return Object.entries(m)
    .filter(([k, v]) => !skip.includes(k) && (v === null || typeof v !== "object"))
    .map(([k, v]) => [k, String(v)]);
}

function Records({ batches }: { batches?: KafkaBatch[] }) {
  if (!batches || batches.length === 0) return null;
  return (
    <table class="grid" data-testid="kafka-records">
      <thead>
        <tr>
          <th>offset</th>
          <th>timestamp</th>
          <th>key</th>
          <th>value</th>
          <th>headers</th>
          <th>batch</th>
        </tr>
      </thead>
      <tbody>
        {batches.flatMap((b, bi) =>
          (b.records ?? []).map((r, i) => (
            <tr key={`${bi}-${i}`}>
              <td>{r.offset}</td>
              <td>{new Date(r.timestamp).toISOString()}</td>
              <td>{blob(r.key)}</td>
              <td class="code">{blob(r.value)}</td>
              <td>{(r.headers ?? []).map(([k, v]) => `${k}=${blob(v)}`).join(", ")}</td>
              <td>
                {b.compression} · {b.record_count}
              </td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}

function Topics({ m, side, onAdd }: { m: KafkaMessage; side: string; onAdd(c: string): void }) {
  const topics = m.topic_data ?? [];
  if (topics.length === 0) return null;
  return (
    <>
      {topics.map((t, ti) => (
        <div key={ti} data-testid={`kafka-${side}-topic`}>
          <h4>
            topic {t.name ?? t.topic_id ?? "?"}
            {side === "request" && t.name && <Plus c={clause("request.topics", t.name)} onAdd={onAdd} />}
          </h4>
          <table class="grid">
            <thead>
              <tr>
                <th>partition</th>
                <th>error</th>
                <th>fields</th>
              </tr>
            </thead>
            <tbody>
              {(t.partitions ?? []).map((p, pi) => (
                <tr key={pi}>
                  <td>{p.partition}</td>
                  <td>{p.error_code ? <b class="err">{p.error ?? p.error_code}</b> : "NONE"}</td>
                  <td>
                    {Object.entries(p)
                      .filter(([k, v]) => !["partition", "error", "error_code", "records"].includes(k) && typeof v !== "object")
                      .map(([k, v]) => `${k} ${v}`)
                      .join(" · ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {(t.partitions ?? []).map((p, pi) => (
            <Records key={pi} batches={p.records?.batches} />
          ))}
        </div>
      ))}
    </>
  );
}

function KafkaView({ e, onAdd }: DetailProps) {
  const req = asMessage(e.request);
  const res = asMessage(e.response);
  return (
    <>
      <Section title="Request">
        {req ? (
          <>
            <div class="startline" data-testid="kafka-api">
              <b>{req.api}</b>
              <Plus c={clause("request.api", req.api ?? "")} onAdd={onAdd} /> v{req.api_version} · correlation id{" "}
              {req.correlation_id} · client {req.client_id ?? "null"}
            </div>
            <div class="muted">
              {scalars(req, ["api", "api_key", "api_version", "correlation_id", "client_id"])
                .map(([k, v]) => `${k} ${v}`)
                .join(" · ")}
            </div>
            <Topics m={req} side="request" onAdd={onAdd} />
          </>
        ) : (
          <div class="muted">request not captured</div>
        )}
      </Section>
      <Section title="Response">
        {res ? (
          <>
            <div class="startline">
              <b class={outcomeClass(e.outcome)}>{e.status ?? "status unknown"}</b>
              {e.status && <Plus c={clause("status", e.status)} onAdd={onAdd} />}
            </div>
            <div class="muted">
              {scalars(res, ["correlation_id"])
                .map(([k, v]) => `${k} ${v}`)
                .join(" · ")}
            </div>
            <Topics m={res} side="response" onAdd={onAdd} />
          </>
        ) : (
          <div class="muted">no response</div>
        )}
      </Section>
    </>
  );
}

export const kafka: Renderer = { Detail: KafkaView };
