/** The detail of PostgreSQL entries (docs/entry.md, PostgreSQL): the SQL (highlighted, the error
 * position marked), bound parameters, a small result table, the error, notices, COPY and the startup. */

import { KV, Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import type { DetailProps, Renderer } from "./registry.ts";

type Value = string | number | boolean | null;

interface PgError {
  severity?: string;
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  position?: number;
}

interface PgRequest {
  query?: string | null;
  params?: Value[];
  statement?: string;
  portal?: string;
  database?: string;
  user?: string;
  application_name?: string;
  parameters?: Record<string, string>;
  channel?: string;
}

interface PgResponse {
  command_tag?: string;
  columns?: { name: string; type: string | number }[];
  rows?: Value[][];
  row_count?: number;
  error?: PgError;
  notices?: PgError[];
  copy?: { direction: string; format: string; rows: number; bytes: number; first_rows: string[] };
  authentication?: string[];
  notification?: { channel: string; payload: string; backend_pid: number };
}

const obj = (v: unknown) => (typeof v === "object" && v !== null ? v : {});

const KEYWORDS = new Set(
  ("select from where and or not insert into values update set delete create table drop alter index on as " +
    "join left right inner outer full group by order having limit offset returning begin commit rollback " +
    "with union all distinct case when then else end is null in exists like between copy to stdin stdout " +
    "listen notify primary key references default grant revoke truncate explain analyze vacuum isolation " +
    "level read write repeatable serializable committed transaction").split(" "),
);

const TOKEN = /(--[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^']|'')*'?)|("(?:[^"]|"")*"?)|(\$\d+)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z_0-9]*)|([\s\S])/g;

/** SQL as spans: keywords, strings, parameters, numbers and comments styled; text stays text (escaped). */
function Sql({ sql, mark }: { sql: string; mark?: number }) {
  const parts: preact.ComponentChildren[] = [];
  let m: RegExpExecArray | null;
  let offset = 0;
  TOKEN.lastIndex = 0;
  while ((m = TOKEN.exec(sql)) !== null) {
    const t = m[0];
    const at = offset;
    offset += t.length;
    const marked = mark !== undefined && mark - 1 >= at && mark - 1 < offset;
    const style = m[1]
      ? "color:#6a737d"
      : m[2] || m[3]
        ? "color:#032f62"
        : m[4]
          ? "color:#6f42c1"
          : m[5]
            ? "color:#005cc5"
            : m[6] && KEYWORDS.has(t.toLowerCase())
              ? "color:#d73a49;font-weight:bold"
              : "";
    const deco = marked ? `${style};text-decoration:underline wavy red` : style;
    parts.push(deco ? <span style={deco} data-pos={marked ? "error" : undefined}>{t}</span> : t);
  }
  return (
    <pre class="code" data-testid="pg-sql">
      {parts}
    </pre>
  );
}

const show = (v: Value) => (v === null ? <i class="muted">NULL</i> : String(v));

function ErrorView({ err, title, onAdd }: { err: PgError; title: string; onAdd(c: string): void }) {
  return (
    <div data-testid={`pg-${title.toLowerCase()}`}>
      <KV k={title} v={<b class="err">{err.severity} {err.code}</b>} />
      {err.code && <Plus c={clause("response.error.code", err.code)} onAdd={onAdd} />}
      {err.message && <KV k="message" v={err.message} />}
      {err.detail && <KV k="detail" v={err.detail} />}
      {err.hint && <KV k="hint" v={err.hint} />}
      {err.position !== undefined && <KV k="position" v={err.position} />}
    </div>
  );
}

function PgView({ e, onAdd }: DetailProps) {
  const req = obj(e.request) as PgRequest;
  const res = e.response ? (obj(e.response) as PgResponse) : null;
  return (
    <>
      <Section title="Request">
        {req.user && <KV k="user" v={req.user} />}
        {req.database && <KV k="database" v={req.database} />}
        {req.application_name && <KV k="application" v={req.application_name} />}
        {req.statement && <KV k="statement" v={req.statement} />}
        {typeof req.query === "string" ? (
          <Sql sql={req.query} mark={res?.error?.position} />
        ) : (
          "query" in req && <div class="muted">SQL not captured</div>
        )}
        {req.params && req.params.length > 0 && (
          <table class="grid" data-testid="pg-params">
            <thead>
              <tr>
                <th>param</th>
                <th>value</th>
              </tr>
            </thead>
            <tbody>
              {req.params.map((p, i) => (
                <tr key={i}>
                  <td>${i + 1}</td>
                  <td>{show(p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Response">
        {!res ? (
          <div class="muted">no response</div>
        ) : (
          <>
            {res.command_tag && (
              <div class="startline">
                <b class={outcomeClass(e.outcome)}>{res.command_tag}</b>
              </div>
            )}
            {res.error && <ErrorView err={res.error} title="Error" onAdd={onAdd} />}
            {res.columns && (
              <>
                <table class="grid" data-testid="pg-rows">
                  <thead>
                    <tr>
                      {res.columns.map((c, i) => (
                        <th key={i} title={String(c.type)}>
                          {c.name}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {(res.rows ?? []).map((r, i) => (
                      <tr key={i}>
                        {r.map((v, j) => (
                          <td key={j}>{show(v)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
                <div class="muted" data-testid="pg-row-count">
                  {res.row_count ?? 0} rows{(res.rows?.length ?? 0) < (res.row_count ?? 0) ? `, first ${res.rows?.length} shown` : ""}
                </div>
              </>
            )}
            {res.copy && (
              <>
                <KV k="copy" v={`${res.copy.direction} · ${res.copy.format} · ${res.copy.rows} rows · ${res.copy.bytes} bytes`} />
                {res.copy.first_rows.length > 0 && <pre class="code">{res.copy.first_rows.join("\n")}</pre>}
              </>
            )}
            {res.notification && (
              <KV k="notification" v={`${res.notification.channel}: ${res.notification.payload} (pid ${res.notification.backend_pid})`} />
            )}
            {res.authentication && <KV k="authentication" v={res.authentication.join(" → ")} />}
            {(res.notices ?? []).map((n, i) => (
              <ErrorView key={i} err={n} title="Notice" onAdd={onAdd} />
            ))}
          </>
        )}
      </Section>
    </>
  );
}

export const postgresql: Renderer = { Detail: PgView };
