/** Stats of the stored entries matching the filter (`/api/v1/stats`): per-protocol counts and throughput
 * over time, status codes, latency percentiles. */

import { formatBytes, formatCount, formatDuration, statusClass } from "../lib/format.ts";
import type { Latency, Stats } from "../lib/types.ts";
import { Bars, colorFor, Legend, type Series, TimeChart } from "./charts.tsx";
import { usePolled } from "./usePolled.ts";

const STATUS_COLORS: Record<string, string> = {
  "st-ok": "#10b981",
  "st-redirect": "#3b82f6",
  "st-client": "#f59e0b",
  "st-server": "#ef4444",
  "st-none": "#9ca3af",
};

export function StatsView({ q }: { q: string }) {
  const { data, error } = usePolled<Stats>("stats", { q }, 5000);
  if (error) return <div class="page error">{error}</div>;
  if (!data) return <div class="page muted">loading…</div>;
  const protocols = Object.keys(data.protocols).sort();
  const bucketS = data.timeline?.bucket_seconds || 1;
  const seriesOf = (pick: (p: { entries: number; bytes: number }) => number): Series[] =>
    protocols.map((p, i) => ({
      name: p,
      color: colorFor(i),
      points: (data.timeline?.series?.[p] ?? [])
        .map((pt): [number, number] => [Date.parse(pt.t), pick(pt) / bucketS])
        .filter((pt) => Number.isFinite(pt[0])),
    }));
  const statuses = Object.entries(data.status ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
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
          <h2>Status</h2>
          <Bars
            testid="status-bars"
            items={statuses.map(([s, n]) => ({ label: s, value: n, color: STATUS_COLORS[statusClass(s === "none" ? null : s)] ?? "#888" }))}
          />
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
