/** Stats of the stored entries matching the filter (`/api/v1/stats`): per-protocol counts and throughput
 * over time, outcomes, status codes, latency percentiles. */

import { formatBytes, formatCount, formatDuration, OUTCOME_CLASSES } from "../lib/format.ts";
import { protocolColor } from "../lib/protocolColor.ts";
import type { Latency, Stats } from "../lib/types.ts";
import { Bars, Legend, type Series, TimeChart } from "./charts.tsx";
import { usePolled } from "./usePolled.ts";

/** Bar colours of the outcomes' classes (the same hues as the list's status colours). */
const CLASS_COLORS: Record<string, string> = {
  "st-ok": "#10b981",
  "st-client": "#f59e0b",
  "st-server": "#ef4444",
  "st-error": "#a855f7",
  "st-none": "#9ca3af",
};
/** Status words belong to their protocols: their bars are neutral, the outcomes carry the colours. */
const STATUS_COLOR = "#64748b";

export function StatsView({ q }: { q: string }) {
  const { data, error } = usePolled<Stats>("stats", { q }, 5000);
  if (error) return <div class="page error">{error}</div>;
  if (!data) return <div class="page muted">loading…</div>;
  const protocols = Object.keys(data.protocols).sort();
  const bucketS = data.timeline?.bucket_seconds || 1;
  const seriesOf = (pick: (p: { entries: number; bytes: number }) => number): Series[] =>
    protocols.map((p) => ({
      name: p,
      color: protocolColor(p),
      points: (data.timeline?.series?.[p] ?? [])
        .map((pt): [number, number] => [Date.parse(pt.t), pick(pt) / bucketS])
        .filter((pt) => Number.isFinite(pt[0])),
    }));
  const statuses = Object.entries(data.status ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  // Every known outcome in order (zeros left out), then any the dashboard does not know.
  const outcomeCounts = data.outcomes ?? {};
  const outcomes = [...OUTCOME_CLASSES.keys(), ...Object.keys(outcomeCounts).filter((o) => !OUTCOME_CLASSES.has(o))]
    .map((o): [string, number] => [o, outcomeCounts[o] ?? 0])
    .filter(([, n]) => n > 0);
  const lat = data.latency_us;
  return (
    <div class="page stats" data-testid="stats-view">
      <div class="cards">
        <Card label="entries" value={formatCount(data.total.entries)} />
        <Card label="bytes" value={formatBytes(data.total.bytes)} />
        {protocols.map((p) => (
          <Card key={p} label={p} value={`${formatCount(data.protocols[p]?.entries)} · ${formatBytes(data.protocols[p]?.bytes)}`} />
        ))}
        <Card label="p50 latency" value={formatDuration(lat?.p50)} />
        <Card label="p95 latency" value={formatDuration(lat?.p95)} />
      </div>
      <h2>Entries per second</h2>
      <Legend series={seriesOf(() => 0)} />
      <TimeChart series={seriesOf((p) => p.entries)} format={(v) => v.toFixed(v < 10 ? 1 : 0)} testid="chart-entries" />
      <h2>Throughput (bytes per second)</h2>
      <TimeChart series={seriesOf((p) => p.bytes)} format={(v) => formatBytes(v)} testid="chart-bytes" />
      <div class="two-col">
        <div>
          <h2>Outcome</h2>
          <Bars
            testid="outcome-bars"
            items={outcomes.map(([o, n]) => ({ label: o, value: n, color: CLASS_COLORS[OUTCOME_CLASSES.get(o) ?? ""] ?? STATUS_COLOR }))}
          />
          <h2>Status</h2>
          <Bars testid="status-bars" items={statuses.map(([s, n]) => ({ label: s, value: n, color: STATUS_COLOR }))} />
        </div>
        <div>
          <h2>Latency</h2>
          <LatencyTable all={lat} byProtocol={data.latency_by_protocol_us ?? {}} />
          {lat && lat.count > 0 && (
            <Bars
              items={(["p50", "p90", "p95", "p99", "max"] as const).map((k) => ({
                label: k,
                value: lat[k] ?? 0,
                color: "#8b5cf6",
                text: formatDuration(lat[k]),
              }))}
            />
          )}
        </div>
      </div>
    </div>
  );
}

function Card({ label, value }: { label: string; value: string }) {
  return (
    <div class="card">
      <div class="card-value">{value}</div>
      <div class="card-label">{label}</div>
    </div>
  );
}

function LatencyTable({ all, byProtocol }: { all?: Latency; byProtocol: Record<string, Latency> }) {
  const rows: [string, Latency | undefined][] = [["all", all], ...Object.entries(byProtocol).sort()];
  return (
    <table class="grid" data-testid="latency-table">
      <thead>
        <tr>
          <th />
          <th class="num">count</th>
          <th class="num">p50</th>
          <th class="num">p90</th>
          <th class="num">p95</th>
          <th class="num">p99</th>
          <th class="num">max</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, l]) => (
          <tr key={name}>
            <th>{name}</th>
            <td class="num">{formatCount(l?.count)}</td>
            <td class="num">{formatDuration(l?.p50)}</td>
            <td class="num">{formatDuration(l?.p90)}</td>
            <td class="num">{formatDuration(l?.p95)}</td>
            <td class="num">{formatDuration(l?.p99)}</td>
            <td class="num">{formatDuration(l?.max)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
