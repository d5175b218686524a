/** The service map (`/api/v1/service-map`): who talks to whom, with counts, error rates and latency,
 * laid out by a force layout; hover or click a node or an edge for its numbers. */

import { useMemo, useState } from "preact/hooks";
import { clause } from "../lib/filterText.ts";
import { formatBytes, formatCount, formatDuration } from "../lib/format.ts";
import { forceLayout } from "../lib/layout.ts";
import type { MapEdge, MapNode, ServiceMap } from "../lib/types.ts";
import { Plus } from "./parts.tsx";
import { usePolled } from "./usePolled.ts";

/** Nodes drawn at most (the busiest); the layout is quadratic in this. */
const MAX_NODES = 150;
const W = 1000;
const H = 640;

type Pick = { kind: "node"; node: MapNode } | { kind: "edge"; edge: MapEdge } | null;

export function ServiceMapView({ q, onAddClause }: { q: string; onAddClause(c: string): void }) {
  const { data, error } = usePolled<ServiceMap>("service-map", { q }, 5000);
  const [hover, setHover] = useState<Pick>(null);
  const [pinned, setPinned] = useState<Pick>(null);

  const graph = useMemo(() => {
    if (!data) return null;
    const nodes = [...(data.nodes ?? [])]
      .sort((a, b) => b.entries_in + b.entries_out - (a.entries_in + a.entries_out) || a.id.localeCompare(b.id))
      .slice(0, MAX_NODES)
      .sort((a, b) => a.id.localeCompare(b.id));
    const ids = new Set(nodes.map((n) => n.id));
    const edges = (data.edges ?? []).filter((e) => ids.has(e.source) && ids.has(e.target));
    const pos = forceLayout(
      nodes.map((n) => n.id),
      edges.map((e) => [e.source, e.target]),
      { width: W, height: H },
    );
    const at = new Map(nodes.map((n, i) => [n.id, pos[i] ?? { x: W / 2, y: H / 2 }]));
    return { nodes, edges, at, hidden: (data.nodes?.length ?? 0) - nodes.length };
  }, [data]);

  if (error) return <div class="page error">{error}</div>;
  if (!graph) return <div class="page muted">loading…</div>;
  if (graph.nodes.length === 0) return <div class="page muted">No traffic matches the filter.</div>;
  const maxEntries = Math.max(1, ...graph.edges.map((e) => e.entries));
  const shown = hover ?? pinned;

  return (
    <div class="map-wrap" data-testid="service-map">
      <svg class="map" viewBox={`0 0 ${W} ${H}`} onClick={() => setPinned(null)}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">
            <path d="M0,0L10,5L0,10z" class="arrowhead" />
          </marker>
        </defs>
        {graph.edges.map((e, i) => {
          const a = graph.at.get(e.source);
          const b = graph.at.get(e.target);
          if (!a || !b) return null;
          // Stop the line at the target circle's rim so the arrow shows.
          const dx = b.x - a.x;
          const dy = b.y - a.y;
          const d = Math.max(Math.hypot(dx, dy), 1);
          const r = 14;
          const x2 = b.x - (dx / d) * r;
          const y2 = b.y - (dy / d) * r;
          const width = 1 + 4 * Math.sqrt(e.entries / maxEntries);
          const cls = e.error_rate > 0.05 ? "edge bad" : e.error_rate > 0 ? "edge some" : "edge";
          const active = shown?.kind === "edge" && shown.edge === e;
          return (
            <g key={i}>
              <line x1={a.x} y1={a.y} x2={x2} y2={y2} class={active ? `${cls} active` : cls} stroke-width={width}
                marker-end="url(#arrow)" />
              <line x1={a.x} y1={a.y} x2={x2} y2={y2} class="edge-hit" onMouseEnter={() => setHover({ kind: "edge", edge: e })}
                onMouseLeave={() => setHover(null)}
                onClick={(ev) => {
                  ev.stopPropagation();
                  setPinned({ kind: "edge", edge: e });
                }} />
              <text x={(a.x + x2) / 2} y={(a.y + y2) / 2 - 4} class="edge-label" text-anchor="middle">
                {formatCount(e.entries)}
                {roleNames(e) && ` ${roleNames(e)}`}
              </text>
            </g>
          );
        })}
        {graph.nodes.map((n) => {
          const p = graph.at.get(n.id);
          if (!p) return null;
          const active = shown?.kind === "node" && shown.node === n;
          return (
            <g key={n.id} transform={`translate(${p.x},${p.y})`} class={`node k-${n.kind}${active ? " active" : ""}`}
              onMouseEnter={() => setHover({ kind: "node", node: n })} onMouseLeave={() => setHover(null)}
              onClick={(ev) => {
                ev.stopPropagation();
                setPinned({ kind: "node", node: n });
              }} data-node={n.id}>
              <circle r="12" />
              <text y="26" text-anchor="middle">
                {n.label}
              </text>
            </g>
          );
        })}
      </svg>
      <aside class="map-info" data-testid="map-info">
        {graph.hidden > 0 && <p class="muted small">{graph.hidden} quieter nodes not drawn</p>}
        {!shown && <p class="muted">Hover or click a node or an edge.</p>}
        {shown?.kind === "node" && <NodeInfo n={shown.node} onAdd={onAddClause} />}
        {shown?.kind === "edge" && <EdgeInfo e={shown.edge} />}
        <p class="muted small legend-text">
          Arrows point from client to server; width grows with entries; amber edges had errors, red ones more than 5%.
        </p>
      </aside>
    </div>
  );
}

/** The clause that picks a node's traffic, from its kind and id (see docs/api.md for how nodes are named). */
function nodeClause(n: MapNode): string | null {
  const both = (f: string, v: string) => `(${clause(`src.${f}`, v)} or ${clause(`dst.${f}`, v)})`;
  if (n.kind === "service") return both("service", n.label);
  if (n.kind === "pod") return both("pod", n.label);
  const server = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(n.id) ?? /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(n.id);
  if (server?.[1] && server[2]) return `${clause("dst.ip", server[1])} and ${clause("dst.port", Number(server[2]))}`;
  if (/^[0-9a-fA-F:.]+$/.test(n.id)) return both("ip", n.id);
  return null;
}

function NodeInfo({ n, onAdd }: { n: MapNode; onAdd(c: string): void }) {
  const c = nodeClause(n);
  return (
    <div>
      <h3>
        {n.label} {c && <Plus c={c} onAdd={onAdd} />}
      </h3>
      <table class="kv">
        <tbody>
          <tr><th>id</th><td>{n.id}</td></tr>
          <tr><th>kind</th><td>{n.kind}</td></tr>
          {n.namespace && <tr><th>namespace</th><td>{n.namespace}</td></tr>}
          <tr><th>entries in</th><td>{formatCount(n.entries_in)}</td></tr>
          <tr><th>entries out</th><td>{formatCount(n.entries_out)}</td></tr>
        </tbody>
      </table>
    </div>
  );
}

/** The roles of an edge's clients, most frequent first ("produce/consume"); empty without roles. */
function roleNames(e: MapEdge): string {
  return Object.entries(e.roles ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([role]) => role)
    .join("/");
}

function EdgeInfo({ e }: { e: MapEdge }) {
  return (
    <div>
      <h3>
        {e.source} → {e.target}
      </h3>
      <table class="kv">
        <tbody>
          <tr><th>protocol</th><td>{e.protocol}</td></tr>
          <tr><th>entries</th><td>{formatCount(e.entries)}</td></tr>
          {e.per_s !== undefined && <tr><th>rate</th><td>{e.per_s.toFixed(e.per_s < 10 ? 2 : 0)}/s</td></tr>}
          {Object.entries(e.roles ?? {}).map(([role, n]) => (
            <tr key={role}><th>{role}</th><td>{formatCount(n)}</td></tr>
          ))}
          <tr><th>errors</th><td>{formatCount(e.errors)} ({(e.error_rate * 100).toFixed(1)}%)</td></tr>
          <tr><th>p50</th><td>{formatDuration(e.p50_us)}</td></tr>
          <tr><th>p95</th><td>{formatDuration(e.p95_us)}</td></tr>
          <tr><th>bytes</th><td>{formatBytes(e.bytes)}</td></tr>
        </tbody>
      </table>
    </div>
  );
}
