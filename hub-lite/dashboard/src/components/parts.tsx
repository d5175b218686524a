/** Small pieces shared by the views and by every protocol's detail renderer (src/protocols/): sections,
 * key/value tables, header lists, bodies, the filter's `+` button and the protocol badge. None of them
 * knows a protocol. */

import { viewBody } from "../lib/body.ts";
import { clause } from "../lib/filterText.ts";
import { formatBytes } from "../lib/format.ts";
import { protocolStyle } from "../lib/protocolColor.ts";
import type { Body } from "../lib/types.ts";

/** A small button that adds a clause to the filter (shown on hover). */
export function Plus({ c, onAdd }: { c: string; onAdd(c: string): void }) {
  return (
    <button
      class="plus"
      title={`add: and ${c}`}
      onClick={(e) => {
        e.stopPropagation();
        onAdd(c);
      }}
    >
      +
    </button>
  );
}

/** The protocol's name on a colour derived from it (lib/protocolColor.ts). */
export function ProtocolBadge({ name }: { name: string }) {
  return (
    <span class="badge proto" style={protocolStyle(name)}>
      {name}
    </span>
  );
}

export function Section({ title, children }: { title: string; children: preact.ComponentChildren }) {
  return (
    <section class="dsec">
      <h3>{title}</h3>
      {children}
    </section>
  );
}

/** A row of a `kv` table; `testid` goes on the value cell. */
export function KV({ k, v, testid }: { k: string; v: preact.ComponentChildren; testid?: string }) {
  return (
    <tr>
      <th>{k}</th>
      <td data-testid={testid}>{v}</td>
    </tr>
  );
}

/** `[name, value]` header pairs in wire order; each value's `+` adds `<prefix>.headers["name"] == value`. */
export function Headers(props: { headers?: [string, string][]; prefix: string; onAdd(c: string): void; testid: string }) {
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

/** `[name, value]` pairs; with `field`, each value's `+` adds `<field>["name"] == value`. */
export function PairTable(props: { pairs: [string, string][]; field?: string; onAdd?(c: string): void; testid?: string }) {
  const { pairs, field, onAdd, testid } = props;
  return (
    <table class="kv" data-testid={testid}>
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

/** An entry body (docs/entry.md): pretty JSON, text, form fields or a hex dump, with its size and coding,
 * under the heading `title` ("Body" unless told). */
export function BodyView({ body, testid, title = "Body" }: { body?: Body; testid: string; title?: string }) {
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
        {title} <span class="muted small">{meta.join(" · ")}</span>
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
