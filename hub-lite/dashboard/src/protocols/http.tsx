/** The detail of HTTP entries (docs/entry.md, HTTP/1.x and HTTP/2): start lines, headers, query, bodies,
 * interim responses; for HTTP/2 also the authority, scheme, stream and trailers. */

import { BodyView, Headers, KV, PairTable, Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import { isHttpRequest, isHttpResponse } from "../lib/types.ts";
import type { DetailProps, Renderer } from "./registry.ts";

function HttpView({ e, onAdd }: DetailProps) {
  const req = isHttpRequest(e.request) ? e.request : null;
  const res = isHttpResponse(e.response) ? e.response : null;
  return (
    <>
      <Section title="Request">
        {req ? (
          <>
            <div class="startline">
              <b>{req.method}</b> {req.path ?? ""}{" "}
              <span class="muted" data-testid="request-version">{req.version}</span>
              <Plus c={clause("request.method", req.method)} onAdd={onAdd} />
              {req.version && <Plus c={clause("request.version", req.version)} onAdd={onAdd} />}
            </div>
            {(req.authority != null || req.scheme != null || req.stream_id != null) && (
              <table class="kv" data-testid="http2-request">
                <tbody>
                  {req.authority != null && (
                    <KV k="authority" testid="request-authority" v={
                      <span>
                        {req.authority}
                        <Plus c={clause("request.authority", req.authority)} onAdd={onAdd} />
                      </span>
                    } />
                  )}
                  {req.scheme != null && <KV k="scheme" v={req.scheme} testid="request-scheme" />}
                  {req.stream_id != null && <KV k="stream" v={req.stream_id} testid="request-stream" />}
                </tbody>
              </table>
            )}
            <Headers headers={req.headers} prefix="request" onAdd={onAdd} testid="request-headers" />
            {req.query && req.query.length > 0 && (
              <>
                <h4>Query</h4>
                <PairTable pairs={req.query} field="request.query" onAdd={onAdd} />
              </>
            )}
            <BodyView body={req.body} testid="request-body" />
            <Trailers pairs={req.trailers} field="request.trailers" onAdd={onAdd} testid="request-trailers" />
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
                {i.status} {i.reason ?? ""}
              </div>
            ))}
            <div class="startline">
              <span class="muted" data-testid="response-version">{res.version}</span>{" "}
              <b class={outcomeClass(e.outcome)} data-testid="response-status">{res.status}</b> {res.reason ?? ""}
              <Plus c={clause("response.status", res.status)} onAdd={onAdd} />
            </div>
            <Headers headers={res.headers} prefix="response" onAdd={onAdd} testid="response-headers" />
            <BodyView body={res.body} testid="response-body" />
            <Trailers pairs={res.trailers} field="response.trailers" onAdd={onAdd} testid="response-trailers" />
          </>
        ) : (
          <div class="muted">no response</div>
        )}
      </Section>
    </>
  );
}

/** A trailing header block (HTTP/2, or chunked HTTP/1.1 when it has them), after the body it follows. */
function Trailers(props: { pairs?: [string, string][]; field: string; onAdd(c: string): void; testid: string }) {
  const { pairs, field, onAdd, testid } = props;
  if (!pairs || pairs.length === 0) return null;
  return (
    <>
      <h4>Trailers</h4>
      <PairTable pairs={pairs} field={field} onAdd={onAdd} testid={testid} />
    </>
  );
}

export const http: Renderer = { Detail: HttpView };
