/** The detail of gRPC entries (docs/entry.md, gRPC): the call (service, method, stream), the status and
 * its message, metadata and trailers, and each message as JSON (with its schema, or schema-less by field
 * numbers) with its compressed flag and size. */

import { KV, PairTable, Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { formatBytes, formatDuration, outcomeClass } from "../lib/format.ts";
import { isGrpcRequest, isGrpcResponse, showMessage, statusText, timeoutText, type GrpcMessage } from "../lib/grpc.ts";
import type { DetailProps, Renderer } from "./registry.ts";

function GrpcView({ e, onAdd }: DetailProps) {
  const req = isGrpcRequest(e.request) ? e.request : null;
  const res = isGrpcResponse(e.response) ? e.response : null;
  const status = res ? statusText(res.status, res.code) : null;
  const timeout = req ? timeoutText(req.timeout_us, formatDuration) : null;
  return (
    <>
      <Section title="Call">
        {req ? (
          <>
            <div class="startline">
              <b data-testid="grpc-service">{req.service ?? "?"}</b>
              {req.service && <Plus c={clause("request.service", req.service)} onAdd={onAdd} />}
              {" / "}
              <b data-testid="grpc-method">{req.method ?? "?"}</b>
              {req.method && <Plus c={clause("request.method", req.method)} onAdd={onAdd} />}
            </div>
            <table class="kv">
              <tbody>
                <KV k="path" v={req.path ?? "not captured"} testid="grpc-path" />
                {req.authority && <KV k="authority" v={req.authority} testid="grpc-authority" />}
                {req.stream_id != null && <KV k="stream" v={req.stream_id} testid="grpc-stream" />}
                {timeout && <KV k="timeout" v={timeout} testid="grpc-timeout" />}
                {req.encoding && <KV k="encoding" v={req.encoding} testid="grpc-request-encoding" />}
              </tbody>
            </table>
            <Pairs title="Metadata" pairs={req.metadata} field="request.metadata" onAdd={onAdd} testid="grpc-request-metadata" />
            <Messages side="request" messages={req.messages ?? []} notShown={req.messages_not_shown} />
            <Pairs title="Trailers" pairs={req.trailers} field="request.trailers" onAdd={onAdd} testid="grpc-request-trailers" />
          </>
        ) : (
          <div class="muted">request not captured</div>
        )}
      </Section>
      <Section title="Response">
        {res ? (
          <>
            <div class="startline">
              {status !== null ? (
                <>
                  <b class={outcomeClass(e.outcome)} data-testid="grpc-status">{status}</b>
                  {res.status && <Plus c={clause("response.status", res.status)} onAdd={onAdd} />}
                </>
              ) : (
                <span class="muted" data-testid="grpc-status">no status (trailers not seen)</span>
              )}
              {res.message && (
                <>
                  {" "}
                  <span data-testid="grpc-message">{res.message}</span>
                </>
              )}
            </div>
            <table class="kv">
              <tbody>
                {res.http_status != null && <KV k="HTTP status" v={res.http_status} testid="grpc-http-status" />}
                {res.trailers_only && <KV k="trailers-only" v="yes (no messages, the status came in the headers)" />}
                {res.encoding && <KV k="encoding" v={res.encoding} testid="grpc-response-encoding" />}
              </tbody>
            </table>
            <Pairs title="Metadata" pairs={res.metadata} field="response.metadata" onAdd={onAdd} testid="grpc-response-metadata" />
            <Messages side="response" messages={res.messages ?? []} notShown={res.messages_not_shown} />
            <Pairs title="Trailers" pairs={res.trailers} field="response.trailers" onAdd={onAdd} testid="grpc-response-trailers" />
          </>
        ) : (
          <div class="muted">no response</div>
        )}
      </Section>
    </>
  );
}

function Pairs(props: { title: string; pairs?: [string, string][]; field: string; onAdd(c: string): void; testid: string }) {
  const { title, pairs, field, onAdd, testid } = props;
  if (!pairs || pairs.length === 0) return null;
  return (
    <>
      <h4>{title}</h4>
      <PairTable pairs={pairs} field={field} onAdd={onAdd} testid={testid} />
    </>
  );
}

function Messages({ side, messages, notShown }: { side: string; messages: GrpcMessage[]; notShown?: number }) {
  return (
    <div data-testid={`grpc-${side}-messages`} data-count={messages.length}>
      <h4>
        Messages <span class="muted small">{messages.length}</span>
      </h4>
      {messages.length === 0 && <div class="muted">none</div>}
      {messages.map((m, i) => (
        <Message key={i} index={i} m={m} />
      ))}
      {notShown ? <div class="muted small">{notShown} more not shown (limits)</div> : null}
    </div>
  );
}

function Message({ index, m }: { index: number; m: GrpcMessage }) {
  const v = showMessage(m);
  const meta = [
    typeof m.size === "number" && `${formatBytes(m.size)} on the wire`,
    m.compressed ? "compressed" : "not compressed",
    m.truncated && "shown in part",
  ].filter(Boolean);
  return (
    <div class="grpc-message" data-testid="grpc-message-item" data-kind={v.kind} data-compressed={String(!!m.compressed)}
      data-size={m.size ?? ""}>
      <div class="small">
        <b>#{index + 1}</b> <span class="muted" data-testid="grpc-message-label">{v.label}</span>{" "}
        <span class="muted">· {meta.join(" · ")}</span>
      </div>
      {(v.kind === "schema" || v.kind === "raw") && <pre class="code">{v.text}</pre>}
      {v.kind === "bytes" && (
        <>
          <pre class="code hex">{v.hex}</pre>
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

export const grpc: Renderer = { Detail: GrpcView };
