/** The detail of HTTP entries (docs/entry.md, HTTP): start lines, headers, query, bodies, interim responses. */

import { BodyView, Headers, PairTable, Plus, Section } from "../components/parts.tsx";
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
              <span class="muted">{res.version}</span> <b class={outcomeClass(e.outcome)}>{res.status}</b>{" "}
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

export const http: Renderer = { Detail: HttpView };
