/** The detail of MySQL entries (docs/entry.md, MySQL): the command with its SQL highlighted and its bound
 * parameters, the result (columns and the first rows as a small table, counts), and the error. Wire text
 * is only ever rendered as text nodes. */

import { Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import type { DetailProps, Renderer } from "./registry.ts";

type Cell = string | number | boolean | null;

interface MysqlColumn {
  name: string;
  type: string;
}

interface MysqlResult {
  columns?: MysqlColumn[] | number;
  rows?: Cell[][];
  row_count?: number;
  affected_rows?: number;
  last_insert_id?: number;
  warnings?: number;
  info?: string;
  local_infile?: string;
}

interface MysqlError {
  code: number;
  sqlstate: string | null;
  message: string;
}

interface MysqlResponse extends MysqlResult {
  more_results?: MysqlResult[];
  result_count?: number;
  statement_id?: number;
  params?: number;
  server_version?: string;
  connection_id?: number;
  encrypted?: boolean;
  compressed?: boolean;
  text?: string;
  error?: MysqlError;
}

interface MysqlRequest {
  command?: string | null;
  query?: string;
  query_truncated?: boolean;
  params?: Cell[];
  statement_id?: number;
  database?: string;
  user?: string;
  tls?: boolean;
}

const KEYWORDS = new Set(
  (
    "select from where and or not insert into values update set delete create table drop alter index " +
    "join left right inner outer on as order by group having limit offset union all distinct in is null " +
    "like between exists case when then else end begin commit rollback start transaction use show " +
    "primary key unique default auto_increment load data local infile replace call procedure asc desc " +
    "int varchar text decimal date datetime timestamp char blob if count sum avg min max"
  ).split(" "),
);

/** SQL cut into tokens with a class each: keywords, strings, numbers, comments, the rest. */
export function sqlTokens(sql: string): { text: string; cls: string }[] {
  const re = /(--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.)*"?|`[^`]*`?)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_$]*)|(\s+|.)/g;
  const out: { text: string; cls: string }[] = [];
  let m: RegExpExecArray | null;
  while ((m = re.exec(sql)) !== null) {
    if (m[1]) out.push({ text: m[1], cls: "sql-comment" });
    else if (m[2]) out.push({ text: m[2], cls: "sql-string" });
    else if (m[3]) out.push({ text: m[3], cls: "sql-number" });
    else if (m[4]) out.push({ text: m[4], cls: KEYWORDS.has(m[4].toLowerCase()) ? "sql-keyword" : "" });
    else out.push({ text: m[0], cls: "" });
  }
  return out;
}

/** Colours of the token classes (the stylesheet's palette; inline so the renderer stays one file). */
const TOKEN_STYLE: Record<string, string> = {
  "sql-keyword": "color: var(--accent); font-weight: 600",
  "sql-string": "color: var(--ok)",
  "sql-number": "color: var(--client)",
  "sql-comment": "color: var(--muted); font-style: italic",
};

function Sql({ sql }: { sql: string }) {
  return (
    <pre class="code sql" data-testid="mysql-query">
      {sqlTokens(sql).map((t, i) =>
        t.cls ? (
          <span key={i} class={t.cls} style={TOKEN_STYLE[t.cls]}>
            {t.text}
          </span>
        ) : (
          t.text
        ),
      )}
    </pre>
  );
}

function cellText(v: Cell): string {
  return v === null ? "NULL" : String(v);
}

function ResultView({ r, testid }: { r: MysqlResult; testid?: string }) {
  const columns = Array.isArray(r.columns) ? r.columns : null;
  return (
    <>
      {columns && (
        <table class="grid" data-testid={testid}>
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th key={i} title={c.type}>
                  {c.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {(r.rows ?? []).map((row, i) => (
              <tr key={i}>
                {row.map((v, j) => (
                  <td key={j} class={v === null ? "muted" : ""}>
                    {cellText(v)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="startline" data-testid={testid ? `${testid}-counts` : undefined}>
        {r.row_count !== undefined &&
          `${r.row_count} row${r.row_count === 1 ? "" : "s"}${(r.rows ?? []).length < r.row_count ? ` (first ${(r.rows ?? []).length} shown)` : ""}`}
        {r.affected_rows !== undefined && `${r.affected_rows} affected`}
        {r.last_insert_id ? ` · last insert id ${r.last_insert_id}` : ""}
        {r.warnings ? ` · ${r.warnings} warnings` : ""}
        {r.info ? ` · ${r.info}` : ""}
        {r.local_infile !== undefined ? ` · LOAD DATA LOCAL ${r.local_infile}` : ""}
      </div>
    </>
  );
}

function MysqlView({ e, onAdd }: DetailProps) {
  const req = (typeof e.request === "object" && e.request !== null ? e.request : {}) as MysqlRequest;
  const res = (typeof e.response === "object" && e.response !== null ? e.response : null) as MysqlResponse | null;
  const command = req.command ?? "unknown";
  return (
    <>
      <Section title="Command">
        <div class="startline">
          <b>{command}</b>
          <Plus c={clause("request.command", command)} onAdd={onAdd} />
          {req.statement_id !== undefined && ` · statement ${req.statement_id}`}
          {req.user !== undefined && ` · user ${req.user}`}
          {req.database !== undefined && ` · database ${req.database}`}
          {req.tls ? " · TLS requested" : ""}
        </div>
        {req.query !== undefined && <Sql sql={req.query} />}
        {req.query_truncated && <div class="muted">SQL truncated</div>}
        {req.params && req.params.length > 0 && (
          <table class="grid" data-testid="mysql-params">
            <thead>
              <tr>
                <th>#</th>
                <th>parameter</th>
              </tr>
            </thead>
            <tbody>
              {req.params.map((p, i) => (
                <tr key={i}>
                  <td>{i + 1}</td>
                  <td class={p === null ? "muted" : ""}>{cellText(p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Response">
        {res ? (
          <>
            <div class="startline">
              <b class={outcomeClass(e.outcome)}>{e.status ?? "no status"}</b>
              {res.server_version !== undefined && ` · ${res.server_version}`}
              {res.connection_id !== undefined && ` · connection ${res.connection_id}`}
              {res.encrypted ? " · encrypted (TLS): not dissected further" : ""}
              {res.compressed ? " · compressed protocol: not dissected further" : ""}
              {res.statement_id !== undefined && req.command === "COM_STMT_PREPARE"
                ? ` · statement ${res.statement_id}, ${res.params ?? 0} parameters, ${res.columns ?? 0} columns`
                : ""}
            </div>
            {res.error && (
              <div class="error" data-testid="mysql-error">
                <b>
                  {res.error.code}
                  {res.error.sqlstate ? ` (${res.error.sqlstate})` : ""}
                </b>
                <Plus c={clause("response.error.code", res.error.code)} onAdd={onAdd} /> {res.error.message}
              </div>
            )}
            {req.command !== "COM_STMT_PREPARE" && <ResultView r={res} testid="mysql-result" />}
            {(res.more_results ?? []).map((r, i) => (
              <div key={i}>
                <h4>result {i + 2}</h4>
                <ResultView r={r} />
              </div>
            ))}
            {res.text !== undefined && <pre class="code">{res.text}</pre>}
          </>
        ) : (
          <div class="muted">no response</div>
        )}
      </Section>
    </>
  );
}

export const mysql: Renderer = { Detail: MysqlView };
