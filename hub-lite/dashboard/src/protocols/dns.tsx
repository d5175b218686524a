/** The detail of DNS entries (docs/entry.md, DNS): the query's questions, the answer's rcode and records. */

import { Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import type { DetailProps, Renderer } from "./registry.ts";

interface DnsQuestion {
  name: string;
  type: string;
  class: string;
}

interface DnsRecord extends DnsQuestion {
  ttl: number;
  data: string;
}

interface DnsRequest {
  id?: number;
  opcode?: string;
  flags?: string[];
  questions?: DnsQuestion[];
  retransmissions?: number;
}

interface DnsResponse {
  id?: number;
  rcode?: string;
  flags?: string[];
  answers?: DnsRecord[];
  authorities?: DnsRecord[];
  additionals?: DnsRecord[];
}

function isDnsRequest(v: unknown): v is DnsRequest {
  return typeof v === "object" && v !== null && Array.isArray((v as DnsRequest).questions);
}

function isDnsResponse(v: unknown): v is DnsResponse {
  return typeof v === "object" && v !== null && typeof (v as DnsResponse).rcode === "string";
}

function DnsView({ e, onAdd }: DetailProps) {
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
              <b class={outcomeClass(e.outcome)}>{res.rcode}</b>
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

export const dns: Renderer = { Detail: DnsView };
