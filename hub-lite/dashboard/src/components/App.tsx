/** The dashboard shell: checks the session, owns the live stream, the row buffer, the filter in force,
 * the selected row and the current view, and wires the keyboard. */

import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { apiUrl, AuthError, getJson } from "../api.ts";
import { rememberFilter } from "../history.ts";
import { addClause } from "../lib/filterText.ts";
import { findRowById, RowBuffer, rowOfEntry } from "../lib/rows.ts";
import type { Entry, Health, Row, Session } from "../lib/types.ts";
import { StreamClient, type StreamState } from "../stream.ts";
import { queryFromUrl, updateUrl, viewFromUrl } from "../url.ts";
import { Detail } from "./Detail.tsx";
import { EntryList } from "./EntryList.tsx";
import { FilterBar } from "./FilterBar.tsx";
import { HealthBar, HealthView } from "./Health.tsx";
import { ServiceMapView } from "./ServiceMap.tsx";
import { StatsView } from "./Stats.tsx";
import { protocolCatalogue } from "./useProtocols.ts";
import { hideRules, shownRows } from "../protocols/registry.ts";

type View = "list" | "map" | "stats" | "health";
const VIEWS: [View, string][] = [
  ["list", "Entries"],
  ["map", "Service map"],
  ["stats", "Stats"],
  ["health", "Capture health"],
];

export interface FilterAck {
  q: string;
  ok: boolean;
  column?: number;
  error?: string;
}

export function App() {
  const [auth, setAuth] = useState<"checking" | "ok" | "unauthorized" | "error">("checking");
  const [authError, setAuthError] = useState("");
  const [session, setSession] = useState<Session | null>(null);

  useEffect(() => {
    getJson<Session>("session").then(
      (s) => {
        setSession(s);
        setAuth("ok");
        // Asked once for the page; the detail pane reads it (which protocols are HTTP exchanges).
        protocolCatalogue().catch(() => {});
        // The hub set the session cookie when it served this page: the token can leave the address bar.
        updateUrl({ dropToken: true });
      },
      (e: unknown) => {
        if (e instanceof AuthError) setAuth("unauthorized");
        else {
          setAuth("error");
          setAuthError(e instanceof Error ? e.message : String(e));
        }
      },
    );
  }, []);

  if (auth === "unauthorized") return <Unauthorized />;
  if (auth === "error") return <div class="fullpage">The hub did not answer: {authError}</div>;
  if (auth === "checking" || !session) return <div class="fullpage">Connecting…</div>;
  return <Dashboard session={session} onUnauthorized={() => setAuth("unauthorized")} />;
}

function Unauthorized() {
  return (
    <div class="fullpage unauthorized" data-testid="unauthorized">
      <h1>Not authorized</h1>
      <p>
        Open the URL printed by <code>kubectl shark</code> (it ends in <code>?token=…</code>). This address has no
        session token, so no traffic is shown.
      </p>
    </div>
  );
}

function Dashboard({ session, onUnauthorized }: { session: Session; onUnauthorized: () => void }) {
  const buffer = useMemo(() => new RowBuffer(), []);
  const [version, setVersion] = useState(0);
  const [q, setQ] = useState(queryFromUrl);
  const [ack, setAck] = useState<FilterAck | null>(null);
  // The filter the hub applies to the stream: the one in the connect URL until a filter is acknowledged.
  const [inForce, setInForce] = useState(q);
  const [health, setHealth] = useState<Health | null>(null);
  const [missed, setMissed] = useState(0);
  const [streamState, setStreamState] = useState<StreamState>("connecting");
  const [selected, setSelected] = useState<Row | null>(null);
  const [view, setView] = useState<View>(() => {
    const v = viewFromUrl();
    return VIEWS.some(([k]) => k === v) ? (v as View) : "list";
  });
  const [draft, setDraft] = useState(q);
  // Rows the protocols hide by default (heartbeats): shown once the list's chip is clicked.
  const [showHidden, setShowHidden] = useState(false);
  const filterInput = useRef<HTMLInputElement>(null);
  const stream = useRef<StreamClient | null>(null);
  const frame = useRef(0);

  // One stream for the page's life; filter changes travel over it.
  useEffect(() => {
    const bump = () => {
      if (frame.current) return;
      frame.current = requestAnimationFrame(() => {
        frame.current = 0;
        setVersion(buffer.version);
      });
    };
    const client = new StreamClient(q, {
      rows(rows) {
        if (buffer.push(rows) > 0) bump();
      },
      filter(a) {
        setAck(a);
        if (a.ok) {
          // Only a filter the hub compiled goes into the history and the address.
          if (a.q !== "") rememberFilter(a.q);
          updateUrl({ q: a.q });
          setInForce(a.q);
          // A fresh replay for this filter follows.
          buffer.clear();
          setMissed(0);
          bump();
        }
      },
      missed(n) {
        setMissed((m) => m + n);
      },
      health: setHealth,
      state(s) {
        setStreamState(s);
        if (s === "unauthorized") onUnauthorized();
      },
    });
    stream.current = client;
    return () => client.close();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const apply = useCallback((text: string) => {
    const t = text.trim();
    setQ(t);
    setDraft(t);
    stream.current?.setFilter(t);
  }, []);

  const addToFilter = useCallback(
    (c: string) => {
      apply(addClause(q, c));
    },
    [q, apply],
  );

  // Selects the entry with this id: its row when the list has it, else the entry fetched from the hub
  // (filtered out of the list, or dropped from it); rejects with the hub's reason when it has none.
  const openEntry = useCallback(
    async (id: string) => {
      const row = findRowById(buffer.rows, id);
      if (row) {
        setSelected(row);
        return;
      }
      const entry = await getJson<Entry>(`entries/${encodeURIComponent(id)}`);
      setSelected(rowOfEntry(entry));
    },
    [buffer],
  );

  const changeView = (v: View) => {
    setView(v);
    updateUrl({ view: v });
  };

  // Keyboard: / focuses the filter, Esc closes the detail, j/k and arrows move the selection.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA");
      if (e.key === "Escape") {
        if (typing) target.blur();
        else setSelected(null);
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "/") {
        e.preventDefault();
        filterInput.current?.focus();
        return;
      }
      if (view !== "list") return;
      const down = e.key === "j" || e.key === "ArrowDown";
      const up = e.key === "k" || e.key === "ArrowUp";
      if (!down && !up) return;
      e.preventDefault();
      // The rows the list shows: j/k never lands on a row hidden by default.
      const rows = shownRows(buffer.rows, hideRules(), showHidden);
      if (rows.length === 0) return;
      setSelected((cur) => {
        if (!cur) return rows[down ? 0 : rows.length - 1] ?? null;
        const i = indexOfSeq(rows, cur.seq);
        const j = Math.max(0, Math.min(rows.length - 1, (i < 0 ? 0 : i) + (down ? 1 : -1)));
        return rows[j] ?? null;
      });
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [view, buffer, showHidden]);

  const filterError = ack && !ack.ok && ack.q === q ? ack : null;

  return (
    <div class="app">
      <header class="topbar">
        <span class="brand">kubectl shark</span>
        <nav class="tabs">
          {VIEWS.map(([k, label]) => (
            <button key={k} class={view === k ? "tab active" : "tab"} onClick={() => changeView(k)} data-view={k}>
              {label}
            </button>
          ))}
        </nav>
        <HealthBar health={health} session={session} streamState={streamState} rows={buffer.length} />
      </header>
      <FilterBar
        inputRef={filterInput}
        draft={draft}
        setDraft={setDraft}
        applied={q}
        onApply={apply}
        serverError={filterError}
        exports={{ har: apiUrl("har", { q }), pcap: apiUrl("pcap", { q }) }}
      />
      <main class="main">
        {view === "list" && (
          <div class={selected ? "split" : "split single"}>
            <EntryList
              buffer={buffer}
              version={version}
              filter={inForce}
              missed={missed}
              selected={selected}
              onSelect={setSelected}
              onAddClause={addToFilter}
              showHidden={showHidden}
              setShowHidden={setShowHidden}
            />
            {selected && (
              <Detail row={selected} onClose={() => setSelected(null)} onAddClause={addToFilter} onOpen={openEntry} />
            )}
          </div>
        )}
        {view === "map" && <ServiceMapView q={q} onAddClause={addToFilter} />}
        {view === "stats" && <StatsView q={q} />}
        {view === "health" && <HealthView health={health} session={session} />}
      </main>
    </div>
  );
}

/** Index of the row with this sequence number (rows are sorted by seq), or -1. */
export function indexOfSeq(rows: Row[], seq: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = rows[mid]?.seq ?? 0;
    if (s === seq) return mid;
    if (s < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
