/** Capture health: a summary in the header bar (warning colour on drops or a disconnected agent) and a
 * view with every agent's counters and the hub's store. */

import { formatBytes, formatCount, formatRate } from "../lib/format.ts";
import type { Health, Session } from "../lib/types.ts";
import type { StreamState } from "../stream.ts";

interface BarProps {
  health: Health | null;
  session: Session;
  streamState: StreamState;
  rows: number;
}

export function HealthBar({ health, session, streamState, rows }: BarProps) {
  const agents = health?.agents ?? [];
  const down = agents.filter((a) => !a.connected).length;
  const drops = agents.reduce((s, a) => s + (a.drops ?? 0), 0);
  const eps = agents.reduce((s, a) => s + (a.entries_per_s ?? 0), 0);
  const warn = down > 0 || drops > 0 || streamState !== "open";
  return (
    <div class={warn ? "healthbar warn" : "healthbar"} data-testid="healthbar">
      <span title="Connection to the hub">
        <span class={streamState === "open" ? "dot ok" : "dot bad"} /> {streamState === "open" ? "live" : streamState}
      </span>
      <span>{session.mode}</span>
      {agents.length > 0 && (
        <span>
          agents {agents.length - down}/{agents.length}
        </span>
      )}
      {agents.length > 0 && <span>{formatRate(eps)} entries/s</span>}
      {drops > 0 && <span class="warn-text">{formatCount(drops)} drops</span>}
      <span>{formatCount(rows)} listed</span>
      {session.redact && <span title="Credential headers are replaced by [REDACTED]">redacted</span>}
    </div>
  );
}

export function HealthView({ health, session }: { health: Health | null; session: Session }) {
  const store = health?.store ?? session.store;
  return (
    <div class="page" data-testid="health-view">
      <h2>Agents</h2>
      {!health && <p class="muted">waiting for the first health report…</p>}
      {health && health.agents.length === 0 && <p class="muted">No agents: this session reads {session.mode} input.</p>}
      {health && health.agents.length > 0 && (
        <table class="grid">
          <thead>
            <tr>
              <th>agent</th>
              <th>state</th>
              <th class="num">packets</th>
              <th class="num">packets/s</th>
              <th class="num">bytes</th>
              <th class="num">drops</th>
              <th class="num">entries</th>
              <th class="num">entries/s</th>
              <th class="num">sent</th>
              <th class="num">filtered out</th>
              <th class="num">reconnects</th>
              <th>filter</th>
            </tr>
          </thead>
          <tbody>
            {health.agents.map((a) => (
              <tr key={a.name} class={!a.connected || (a.drops ?? 0) > 0 ? "warn-row" : ""}>
                <td title={a.url}>{a.name}</td>
                <td>
                  <span class={a.connected ? "dot ok" : "dot bad"} /> {a.connected ? "connected" : "disconnected"}
                  {a.last_error && <div class="small warn-text">{a.last_error}</div>}
                </td>
                <td class="num">{formatCount(a.packets)}</td>
                <td class="num">{formatRate(a.packets_per_s)}</td>
                <td class="num">{formatBytes(a.bytes)}</td>
                <td class="num">{formatCount(a.drops)}</td>
                <td class="num">{formatCount(a.entries)}</td>
                <td class="num">{formatRate(a.entries_per_s)}</td>
                <td class="num">{formatCount(a.sent)}</td>
                <td class="num">{formatCount(a.filtered_out)}</td>
                <td class="num">{formatCount(a.reconnects)}</td>
                <td>
                  <code>{a.filter || "(all)"}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Hub store</h2>
      {store ? (
        <table class="kv narrow">
          <tbody>
            <tr>
              <th>stored</th>
              <td>
                {formatCount(store.stored)} of {formatCount(store.capacity)} entries
              </td>
            </tr>
            <tr>
              <th>memory</th>
              <td>
                {formatBytes(store.bytes)} of {formatBytes(store.max_bytes)}
              </td>
            </tr>
            <tr>
              <th>received</th>
              <td>{formatCount(store.received)}</td>
            </tr>
            <tr>
              <th>evicted</th>
              <td>{formatCount(store.evicted)}</td>
            </tr>
            {health?.clients !== undefined && (
              <tr>
                <th>dashboard clients</th>
                <td>{health.clients}</td>
              </tr>
            )}
          </tbody>
        </table>
      ) : (
        <p class="muted">unknown</p>
      )}
      <p class="muted small">
        kubectl-shark {session.version} · API v{session.api} · mode {session.mode} ·{" "}
        {session.redact ? "credential headers redacted" : "not redacted (--no-redact)"}
      </p>
    </div>
  );
}
