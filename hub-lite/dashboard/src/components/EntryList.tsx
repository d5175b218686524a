/** The live list: fixed-height rows, only the visible ones in the DOM, following new rows at the bottom
 * unless paused (by the button or by scrolling up), with a count of rows that arrived meanwhile. */

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { clause } from "../lib/filterText.ts";
import { formatBytes, formatDuration, formatEndpoint, formatTime, outcomeClass } from "../lib/format.ts";
import type { RowBuffer } from "../lib/rows.ts";
import type { Endpoint, Row } from "../lib/types.ts";
import { indexOfSeq } from "./App.tsx";
import { Plus, ProtocolBadge } from "./parts.tsx";
import { hideRules, shownRows } from "../protocols/registry.ts";

export const ROW_HEIGHT = 22;
const OVERSCAN = 10;

interface Props {
  buffer: RowBuffer;
  /** Changes whenever the buffer does (drives re-rendering). */
  version: number;
  /** The filter in force (shown as data-filter, for tests and tooltips). */
  filter: string;
  missed: number;
  selected: Row | null;
  onSelect(r: Row): void;
  onAddClause(c: string): void;
  /** Rows the protocols hide by default (heartbeats) are shown. */
  showHidden: boolean;
  setShowHidden(show: boolean): void;
}

export function EntryList(props: Props) {
  const { buffer, version, filter, missed, selected, onSelect, onAddClause, showHidden, setShowHidden } = props;
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [follow, setFollow] = useState(true);
  // Rows ever added (monotone) when following stopped: the "N new" indicator counts from there.
  const [totalAtPause, setTotalAtPause] = useState(0);
  // Rows the protocols hide by default (heartbeats), unless the user turned hiding off.
  const rules = useMemo(hideRules, []);
  const all = buffer.rows;
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const rows = useMemo(() => shownRows(all, rules, showHidden), [all, version, showHidden, rules]);
  const hidden = all.length - rows.length;
  const hiddenWhat = [...new Set(rules.map((h) => h.what))].join(", ");
  const total = buffer.length + buffer.dropped;

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Following: stick to the bottom whenever rows arrive (before paint, so nothing jumps).
  useLayoutEffect(() => {
    const el = box.current;
    if (el && follow) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  }, [version, follow, height]);

  // Keep the selected row in view when it changes (keyboard navigation).
  useEffect(() => {
    const el = box.current;
    if (!el || !selected) return;
    const i = indexOfSeq(rows, selected.seq);
    if (i < 0) return;
    const top = i * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  const pause = () => {
    setFollow(false);
    setTotalAtPause(total);
  };
  const resume = () => setFollow(true);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    setScrollTop(el.scrollTop);
    const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_HEIGHT / 2;
    if (atBottom && !follow) setFollow(true);
    else if (!atBottom && follow) pause();
  };

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const visible: preact.JSX.Element[] = [];
  for (let i = first; i < last; i++) {
    const r = rows[i];
    if (!r) continue;
    visible.push(
      <ListRow key={r.seq} row={r} top={i * ROW_HEIGHT} selected={selected?.seq === r.seq} onSelect={onSelect}
        onAddClause={onAddClause} />,
    );
  }
  const fresh = follow ? 0 : Math.max(0, total - totalAtPause);

  return (
    <section class="list">
      <div class="list-head">
        <span class="c-proto">proto</span>
        <span class="c-method">method</span>
        <span class="c-summary">path / summary</span>
        <span class="c-status">status</span>
        <span class="c-peers">src → dst</span>
        <span class="c-time">time (UTC)</span>
        <span class="c-lat">latency</span>
        <span class="c-size">size</span>
      </div>
      <div class="list-body" ref={box} onScroll={onScroll} data-testid="list" data-rows={rows.length}
        data-filter={filter}>
        <div class="list-spacer" style={{ height: `${rows.length * ROW_HEIGHT}px` }}>
          {visible}
        </div>
        {rows.length === 0 && <div class="empty">{filter ? "No entries match the filter yet." : "No entries yet."}</div>}
      </div>
      <div class="list-foot">
        <span data-testid="row-count">{rows.length.toLocaleString("en-US")} entries</span>
        {buffer.dropped > 0 && <span class="muted"> · {buffer.dropped.toLocaleString("en-US")} older dropped</span>}
        {missed > 0 && <span class="warn"> · {missed.toLocaleString("en-US")} missed (too fast)</span>}
        {hidden > 0 && (
          <button class="btn chip" onClick={() => setShowHidden(true)} data-testid="hidden-chip"
            title="Shown when you turn hiding off">
            {hidden.toLocaleString("en-US")} {hiddenWhat} hidden · show
          </button>
        )}
        {showHidden && rules.length > 0 && (
          <button class="btn chip" onClick={() => setShowHidden(false)} data-testid="hidden-chip">
            hide {hiddenWhat}
          </button>
        )}
        <span class="spacer" />
        {fresh > 0 && (
          <button class="btn new-rows" onClick={resume} data-testid="new-rows">
            {fresh.toLocaleString("en-US")} new ↓
          </button>
        )}
        <button class="btn" onClick={follow ? pause : resume} data-testid="follow">
          {follow ? "❚❚ pause" : "▶ follow"}
        </button>
      </div>
    </section>
  );
}

function ListRow(props: { row: Row; top: number; selected: boolean; onSelect(r: Row): void; onAddClause(c: string): void }) {
  const { row: r, top, selected, onSelect, onAddClause } = props;
  // Rows carry the request's method and path whenever it has them, whatever the protocol.
  const text = r.path ?? r.summary;
  return (
    <div
      class={selected ? "row selected" : "row"}
      style={{ transform: `translateY(${top}px)` }}
      onClick={() => onSelect(r)}
      data-id={r.id}
    >
      <span class="c-proto">
        <ProtocolBadge name={r.protocol} />
      </span>
      <span class="c-method">{r.method ?? ""}</span>
      <span class="c-summary" title={r.summary}>
        {text}
      </span>
      <span class={`c-status ${outcomeClass(r.outcome)}`} title={r.outcome}>
        {r.status ?? "—"}
        {r.status !== null && <Plus c={clause("status", r.status)} onAdd={onAddClause} />}
        {r.outcome && <Plus c={clause("outcome", r.outcome)} onAdd={onAddClause} />}
      </span>
      <span class="c-peers">
        <Peer ep={r.src} side="src" onAdd={onAddClause} />
        <span class="arrow">→</span>
        <Peer ep={r.dst} side="dst" onAdd={onAddClause} />
      </span>
      <span class="c-time">{formatTime(r.ts)}</span>
      <span class="c-lat">{formatDuration(r.elapsed_us)}</span>
      <span class="c-size">{formatBytes((r.request_size ?? 0) + (r.response_size ?? 0))}</span>
    </div>
  );
}

/** The clause that picks this endpoint: by service, pod or address, whichever names it. */
export function endpointClause(ep: Endpoint, side: "src" | "dst"): string {
  if (ep.service) return clause(`${side}.service`, ep.service);
  if (ep.pod) return clause(`${side}.pod`, ep.pod);
  return clause(`${side}.ip`, ep.ip);
}

function Peer({ ep, side, onAdd }: { ep: Endpoint; side: "src" | "dst"; onAdd(c: string): void }) {
  return (
    <span class="peer">
      {formatEndpoint(ep)}
      <Plus c={endpointClause(ep, side)} onAdd={onAdd} />
    </span>
  );
}
