/** The detail pane of the selected row: the whole entry from `/api/v1/entries/{id}`, request and response
 * with headers, query, pretty bodies, DNS tables, timing, sizes, notes; pcap download and copy as curl. */

import { useEffect, useState } from "preact/hooks";
import { apiUrl, getJson } from "../api.ts";
import { viewBody } from "../lib/body.ts";
import { curlCommand } from "../lib/curl.ts";
import { clause } from "../lib/filterText.ts";
import { formatBytes, formatDuration, formatEndpoint, statusClass } from "../lib/format.ts";
import type { Body, DnsRecord, Endpoint, Entry, Row } from "../lib/types.ts";
import { isDnsRequest, isDnsResponse, isHttpRequest, isHttpResponse } from "../lib/types.ts";
import { endpointClause, Plus } from "./EntryList.tsx";

interface Props {
  row: Row;
  onClose(): void;
  onAddClause(c: string): void;
}

export function Detail({ row, onClose, onAddClause }: Props) {
  const [entry, setEntry] = useState<Entry | null>(null);
  const [error, setError] = useState("");
  const [copied, setCopied] = useState("");

  useEffect(() => {
    const ctl = new AbortController();
    setEntry(null);
    setError("");
    setCopied("");
    getJson<Entry>(`entries/${encodeURIComponent(row.id)}`, {}, ctl.signal).then(setEntry, (e: unknown) => {
      if (!ctl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    });
    return () => ctl.abort();
  }, [row.id]);

  const e = entry;
  const copyCurl = async () => {
    if (!e || !isHttpRequest(e.request)) return;
    const cmd = curlCommand(e.request, e.dst);
    const ok = await copyText(cmd);
    // Without clipboard access the command is shown to be copied by hand.
    setCopied(ok ? "copied" : cmd);
  };

  return (
    <aside class="detail" data-testid="detail">
      <div class="detail-head">
        <span class={`badge p-${row.protocol}`}>{row.protocol}</span>
        <span class="detail-title" title={row.summary}>
          {row.summary}
        </span>
        <span class={statusClass(row.status)}>{row.status ?? "no response"}</span>
        <button class="icon-btn" title="Close (Esc)" onClick={onClose}>
          ✕
        </button>
      </div>
      <div class="detail-actions">
        <a class="btn" href={apiUrl(`entries/${encodeURIComponent(row.id)}/pcap`)} download={`${row.id}.pcapng`}
          data-testid="download-pcap">
          connection pcap
        </a>
        {row.protocol === "http" && (
          <button class="btn" onClick={copyCurl} disabled={!e} data-testid="copy-curl">
            copy as curl
          </button>
        )}
        {copied && <span class="muted small" data-testid="copied">{copied}</span>}
      </div>
      <div class="detail-body">
        {error && <div class="error">{error}</div>}
        {!e && !error && <div class="muted">loading…</div>}
        {e && <EntryView e={e} onAdd={onAddClause} />}
      </div>
    </aside>
  );
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement("textarea");
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok;
  }
}

function EntryView({ e, onAdd }: { e: Entry; onAdd(c: string): void }) {
  return (
    <>
      <Section title="Overview">
        <table class="kv">
          <tbody>
            <KV k="id" v={e.id} />
            <KV k="time" v={e.ts} />
            <KV k="client" v={<EndpointCell ep={e.src} side="src" onAdd={onAdd} />} />
            <KV k="server" v={<EndpointCell ep={e.dst} side="dst" onAdd={onAdd} />} />
            <KV k="transport" v={e.transport} />
            <KV k="elapsed" v={e.elapsed_us == null ? "no response" : `${formatDuration(e.elapsed_us)} (${e.elapsed_us} µs)`} />
            <KV k="request size" v={`${formatBytes(e.request_size)} (${e.request_size} B)`} />
            <KV k="response size" v={`${formatBytes(e.response_size)} (${e.response_size} B)`} />
          </tbody>
        </table>
      </Section>
      {e.notes && e.notes.length > 0 && (
        <Section title="Notes">
          <ul class="notes">
            {e.notes.map((n, i) => (
              <li key={i}>{n}</li>
            ))}
          </ul>
        </Section>
      )}
      {e.protocol === "http" && <HttpView e={e} onAdd={onAdd} />}
      {e.protocol === "dns" && <DnsView e={e} onAdd={onAdd} />}
      {e.protocol !== "http" && e.protocol !== "dns" && (
        <Section title="Raw">
          <pre class="code">{JSON.stringify({ request: e.request, response: e.response }, null, 2)}</pre>
        </Section>
      )}
    </>
  );
}

function EndpointCell({ ep, side, onAdd }: { ep: Endpoint; side: "src" | "dst"; onAdd(c: string): void }) {
  const extra = [ep.namespace && `ns ${ep.namespace}`, ep.pod && `pod ${ep.pod}`, ep.service && `svc ${ep.service}`,
    ep.node && `node ${ep.node}`].filter(Boolean);
  return (
    <span>
      {formatEndpoint(ep)} <span class="muted">{ep.ip}:{ep.port}</span>
      <Plus c={endpointClause(ep, side)} onAdd={onAdd} />
      {extra.length > 0 && <span class="muted small"> {extra.join(" · ")}</span>}
    </span>
  );
}

function HttpView({ e, onAdd }: { e: Entry; onAdd(c: string): void }) {
  const req = isHttpRequest(e.request) ? e.request : null;
  const res = isHttpResponse(e.response) ? e.response : null;
  return (
    <>
      <Section title="Request">
        {req ? (
          <>
            <div class="startline">
              <b>{req.method}</b> {req.path} <span class="muted">{req.version}</span>
              <Plus c={clause("request.method", req.method)} onAdd={onAdd} />
            </div>
            <Headers headers={req.headers} prefix="request" onAdd={onAdd} testid="request-headers" />
            {req.query && req.query.length > 0 && (
              <>
                <h4>Query</h4>
                <PairTable pairs={req.query} field="request.query" onAdd={onAdd} />
              </>
            )}
            <BodyView body={req.body} testid="request-body" />
          </>
        ) : (
          <div class="muted">not captured</div>
        )}
      </Section>
      <Section title="Response">
        {res ? (
          <>
            {res.interim?.map((i, k) => (
              <div class="startline muted" key={k}>
                {i.status} {i.reason}
              </div>
            ))}
            <div class="startline">
              <span class="muted">{res.version}</span> <b class={statusClass(String(res.status))}>{res.status}</b>{" "}
              {res.reason}
              <Plus c={clause("response.status", res.status)} onAdd={onAdd} />
            </div>
            <Headers headers={res.headers} prefix="response" onAdd={onAdd} testid="response-headers" />
            <BodyView body={res.body} testid="response-body" />
          </>
        ) : (
          <div class="muted">no response</div>
        )}
      </Section>
    </>
  );
}

function Headers(props: { headers?: [string, string][]; prefix: string; onAdd(c: string): void; testid: string }) {
  const { headers, prefix, onAdd, testid } = props;
  if (!headers || headers.length === 0) return <div class="muted">no headers</div>;
  return (
    <>
      <h4>Headers</h4>
      <table class="kv" data-testid={testid}>
        <tbody>
          {headers.map(([k, v], i) => (
            <tr key={i}>
              <th>{k}</th>
              <td>
                {v}
                <Plus c={clause(`${prefix}.headers[${JSON.stringify(k.toLowerCase())}]`, v)} onAdd={onAdd} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function PairTable({ pairs, field, onAdd }: { pairs: [string, string][]; field?: string; onAdd?(c: string): void }) {
  return (
    <table class="kv">
      <tbody>
        {pairs.map(([k, v], i) => (
          <tr key={i}>
            <th>{k}</th>
            <td>
              {v}
              {field && onAdd && <Plus c={clause(`${field}[${JSON.stringify(k)}]`, v)} onAdd={onAdd} />}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BodyView({ body, testid }: { body?: Body; testid: string }) {
  if (!body) return null;
  const v = viewBody(body);
  const meta = [
    body.size !== undefined && `${formatBytes(body.size)} on the wire`,
    body.mime,
    body.encoding && `${body.encoding}-encoded`,
    body.truncated && "truncated",
  ].filter(Boolean);
  return (
    <div class="body" data-testid={testid} data-kind={v.kind}>
      <h4>
        Body <span class="muted small">{meta.join(" · ")}</span>
      </h4>
      {v.kind === "empty" && <div class="muted">empty</div>}
      {(v.kind === "json" || v.kind === "text") && <pre class="code">{v.text}</pre>}
      {v.kind === "form" && <PairTable pairs={v.fields} />}
      {v.kind === "hex" && (
        <>
          <pre class="code hex">{v.text}</pre>
          {v.shown < v.total && (
            <div class="muted small">
              first {v.shown} of {v.total} bytes shown
            </div>
          )}
        </>
      )}
    </div>
  );
}

function DnsView({ e, onAdd }: { e: Entry; onAdd(c: string): void }) {
  const req = isDnsRequest(e.request) ? e.request : null;
  const res = isDnsResponse(e.response) ? e.response : null;
  return (
    <>
      <Section title="Query">
        {req ? (
          <>
            <div class="startline">
              id {req.id} · {req.opcode} · flags {(req.flags ?? []).join(" ") || "none"}
              {req.retransmissions ? ` · ${req.retransmissions} retransmissions` : ""}
            </div>
            <table class="grid" data-testid="dns-questions">
              <thead>
                <tr>
                  <th>name</th>
                  <th>type</th>
                  <th>class</th>
                </tr>
              </thead>
              <tbody>
                {(req.questions ?? []).map((q, i) => (
                  <tr key={i}>
                    <td>
                      {q.name}
                      <Plus c={clause("request.questions.name", q.name)} onAdd={onAdd} />
                    </td>
                    <td>{q.type}</td>
                    <td>{q.class}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : (
          <div class="muted">query not captured</div>
        )}
      </Section>
      <Section title="Answer">
        {res ? (
          <>
            <div class="startline">
              <b class={statusClass(res.rcode)}>{res.rcode}</b>
              <Plus c={clause("response.rcode", res.rcode ?? "")} onAdd={onAdd} /> · flags{" "}
              {(res.flags ?? []).join(" ") || "none"}
            </div>
            <Records title="Answers" records={res.answers} onAdd={onAdd} testid="dns-answers" />
            <Records title="Authorities" records={res.authorities} />
            <Records title="Additionals" records={res.additionals} />
          </>
        ) : (
          <div class="muted">no response</div>
        )}
      </Section>
    </>
  );
}

function Records(props: { title: string; records?: DnsRecord[]; onAdd?(c: string): void; testid?: string }) {
  const { title, records, onAdd, testid } = props;
  if (!records || records.length === 0) return null;
  return (
    <>
      <h4>{title}</h4>
      <table class="grid" data-testid={testid}>
        <thead>
          <tr>
            <th>name</th>
            <th>type</th>
            <th>class</th>
            <th>ttl</th>
            <th>data</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r, i) => (
            <tr key={i}>
              <td>{r.name}</td>
              <td>{r.type}</td>
              <td>{r.class}</td>
              <td>{r.ttl}</td>
              <td>
                {r.data}
                {onAdd && <Plus c={clause("response.answers.data", r.data)} onAdd={onAdd} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Section({ title, children }: { title: string; children: preact.ComponentChildren }) {
  return (
    <section class="dsec">
      <h3>{title}</h3>
      {children}
    </section>
  );
}

function KV({ k, v }: { k: string; v: preact.ComponentChildren }) {
  return (
    <tr>
      <th>{k}</th>
      <td>{v}</td>
    </tr>
  );
}
