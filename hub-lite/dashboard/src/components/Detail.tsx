/** The detail pane of the selected row: the whole entry from `/api/v1/entries/{id}`: the common overview
 * (endpoints, timing, sizes, notes), then its protocol's own sections from the protocol's renderer
 * (src/protocols/); pcap download, and copy as curl for HTTP exchanges. No protocol is named here. */

import { useEffect, useState } from "preact/hooks";
import { apiUrl, getJson } from "../api.ts";
import { curlCommand } from "../lib/curl.ts";
import { clause } from "../lib/filterText.ts";
import { parseJsonExact } from "../lib/json.ts";
import { formatBytes, formatDuration, formatEndpoint, outcomeClass } from "../lib/format.ts";
import type { Endpoint, Entry, Row } from "../lib/types.ts";
import { isHttpRequest } from "../lib/types.ts";
import { rendererFor } from "../protocols/registry.ts";
import { endpointClause } from "./EntryList.tsx";
import { KV, Plus, ProtocolBadge, Section } from "./parts.tsx";
import { hasHttpSemantics, useProtocols } from "./useProtocols.ts";

interface Props {
  row: Row;
  onClose(): void;
  onAddClause(c: string): void;
  /** Selects another entry by id (renderers link entries to entries). */
  onOpen?(id: string): Promise<void>;
}

export function Detail({ row, onClose, onAddClause, onOpen }: Props) {
  const [entry, setEntry] = useState<Entry | null>(null);
  const [error, setError] = useState("");
  const [copied, setCopied] = useState("");
  const protocols = useProtocols();

  useEffect(() => {
    const ctl = new AbortController();
    setEntry(null);
    setError("");
    setCopied("");
    // Exact digits for 64-bit integers (schema-less protobuf values), which the renderers show as JSON.
    getJson<Entry>(`entries/${encodeURIComponent(row.id)}`, {}, ctl.signal, parseJsonExact).then(setEntry, (e: unknown) => {
      if (!ctl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    });
    return () => ctl.abort();
  }, [row.id]);

  // Until the selected row's entry arrives, the previous one is not shown under the new header.
  const e = entry && entry.id === row.id ? entry : null;
  const canCopyAsCurl = hasHttpSemantics(protocols, row.protocol) || rendererFor(row.protocol).canCopyAsCurl === true;
  const copyCurl = async () => {
    if (!e || !isHttpRequest(e.request)) return;
    const cmd = curlCommand(e.request, e.dst);
    const ok = await copyText(cmd);
    // Without clipboard access the command is shown to be copied by hand.
    setCopied(ok ? "copied" : cmd);
  };

  return (
    <aside class="detail" data-testid="detail" data-id={row.id}>
      <div class="detail-head">
        <ProtocolBadge name={row.protocol} />
        <span class="detail-title" title={row.summary}>
          {row.summary}
        </span>
        <span class={outcomeClass(row.outcome)} title={row.outcome}>
          {row.status ?? "no response"}
        </span>
        <button class="icon-btn" title="Close (Esc)" onClick={onClose}>
          ✕
        </button>
      </div>
      <div class="detail-actions">
        <a class="btn" href={apiUrl(`entries/${encodeURIComponent(row.id)}/pcap`)} download={`${row.id}.pcapng`}
          data-testid="download-pcap">
          connection pcap
        </a>
        {canCopyAsCurl && (
          <button class="btn" onClick={copyCurl} disabled={!e || !isHttpRequest(e.request)} data-testid="copy-curl">
            copy as curl
          </button>
        )}
        {copied && <span class="muted small" data-testid="copied">{copied}</span>}
      </div>
      <div class="detail-body">
        {error && <div class="error">{error}</div>}
        {!e && !error && <div class="muted">loading…</div>}
        {e && <EntryView e={e} onAdd={onAddClause} onOpen={onOpen} />}
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

function EntryView({ e, onAdd, onOpen }: { e: Entry; onAdd(c: string): void; onOpen?(id: string): Promise<void> }) {
  const ProtocolDetail = rendererFor(e.protocol).Detail;
  return (
    <>
      <Section title="Overview">
        <table class="kv">
          <tbody>
            <KV k="id" v={e.id} />
            <KV k="time" v={e.ts} />
            <KV k="client" v={<EndpointCell ep={e.src} side="src" onAdd={onAdd} />} />
            <KV k="server" v={<EndpointCell ep={e.dst} side="dst" onAdd={onAdd} />} />
            <KV k="transport" v={e.tls ? `${e.transport}, TLS (read from the TLS library)` : e.transport} />
            {e.outcome && (
              <KV k="outcome" v={
                <span>
                  <span class={outcomeClass(e.outcome)}>{e.outcome.replace("_", " ")}</span>
                  <Plus c={clause("outcome", e.outcome)} onAdd={onAdd} />
                </span>
              } />
            )}
            <KV k="elapsed" v={e.elapsed_us == null ? "no response" : exactly(formatDuration(e.elapsed_us), e.elapsed_us, "µs")} />
            <KV k="request size" v={exactly(formatBytes(e.request_size), e.request_size, "B")} />
            <KV k="response size" v={exactly(formatBytes(e.response_size), e.response_size, "B")} />
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
      <ProtocolDetail e={e} onAdd={onAdd} onOpen={onOpen} />
    </>
  );
}

/** A rounded value with the exact one beside it, only when rounding changed it: "1.25ms (1250 µs)",
 * but "249µs" and "88 B" alone. */
function exactly(rounded: string, exact: number, unit: string): string {
  const plain = unit === "µs" ? `${exact}µs` : `${exact} ${unit}`;
  return rounded === plain ? rounded : `${rounded} (${exact} ${unit})`;
}

/** The endpoint's address as formatEndpoint writes one without names. */
function address(ep: Endpoint): string {
  return formatEndpoint({ ip: ep.ip, port: ep.port });
}

function EndpointCell({ ep, side, onAdd }: { ep: Endpoint; side: "src" | "dst"; onAdd(c: string): void }) {
  const extra = [ep.namespace && `ns ${ep.namespace}`, ep.pod && `pod ${ep.pod}`, ep.service && `svc ${ep.service}`,
    ep.node && `node ${ep.node}`].filter(Boolean);
  return (
    <span>
      {formatEndpoint(ep)}
      {formatEndpoint(ep) !== address(ep) && <span class="muted"> {address(ep)}</span>}
      <Plus c={endpointClause(ep, side)} onAdd={onAdd} />
      {extra.length > 0 && <span class="muted small"> {extra.join(" · ")}</span>}
    </span>
  );
}
