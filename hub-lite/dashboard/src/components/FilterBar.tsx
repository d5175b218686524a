/** The filter bar: applies on Enter, checks the syntax with the hub while typing (debounced) and points
 * at the column of an error, offers earlier filters, and links the exports of the current filter. */

import type { RefObject } from "preact";
import { useEffect, useState } from "preact/hooks";
import { AuthError, checkFilter, type FilterCheck } from "../api.ts";
import { loadHistory } from "../history.ts";

interface Props {
  inputRef: RefObject<HTMLInputElement>;
  draft: string;
  setDraft(s: string): void;
  applied: string;
  onApply(q: string): void;
  /** The hub refused the applied filter (stream acknowledgement). */
  serverError: { q: string; column?: number; error?: string } | null;
  exports: { har: string; pcap: string };
}

const DEBOUNCE_MS = 250;

export function FilterBar({ inputRef, draft, setDraft, applied, onApply, serverError, exports }: Props) {
  const [check, setCheck] = useState<{ q: string; result: FilterCheck } | null>(null);
  const [showHistory, setShowHistory] = useState(false);
  const [history, setHistory] = useState<string[]>([]);

  useEffect(() => {
    const ctl = new AbortController();
    const t = window.setTimeout(() => {
      checkFilter(draft, ctl.signal).then(
        (result) => setCheck({ q: draft, result }),
        (e: unknown) => {
          if (e instanceof AuthError) setCheck({ q: draft, result: { ok: false, error: e.message } });
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      window.clearTimeout(t);
      ctl.abort();
    };
  }, [draft]);

  const live = check && check.q === draft && !check.result.ok ? { q: draft, ...check.result } : null;
  const err = live ?? (serverError && serverError.q === draft ? serverError : null);

  return (
    <div class="filterbar">
      <div class="filter-input-wrap">
        <input
          ref={inputRef}
          class={err ? "filter-input invalid" : "filter-input"}
          data-testid="filter"
          placeholder='filter, e.g. http and response.status >= 500   (Enter applies, / focuses)'
          spellcheck={false}
          autocomplete="off"
          value={draft}
          onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              setShowHistory(false);
              onApply(draft);
            }
          }}
        />
        <button
          class="icon-btn"
          title="Earlier filters"
          onClick={() => {
            setHistory(loadHistory());
            setShowHistory((s) => !s);
          }}
        >
          ▾
        </button>
        {draft !== applied && <span class="pending" title="Press Enter to apply">⏎</span>}
        {showHistory && (
          <ul class="history" data-testid="history">
            {history.length === 0 && <li class="muted">no earlier filters</li>}
            {history.map((h) => (
              <li key={h}>
                <button
                  onClick={() => {
                    setShowHistory(false);
                    onApply(h);
                  }}
                >
                  {h}
                </button>
              </li>
            ))}
          </ul>
        )}
        {err && <FilterError text={err.q} column={err.column} error={err.error ?? "invalid filter"} />}
      </div>
      <a class="btn" href={exports.har} download="kubectl-shark.har" data-testid="export-har">
        HAR
      </a>
      <a class="btn" href={exports.pcap} download="kubectl-shark.pcapng" data-testid="export-pcap">
        pcap
      </a>
    </div>
  );
}

/** The error under the input: the filter with a caret under the (1-based) column, and the message. */
function FilterError({ text, column, error }: { text: string; column?: number; error: string }) {
  const col = column && column > 0 ? column : null;
  const chars = Array.from(text);
  return (
    <div class="filter-error" data-testid="filter-error" data-column={col ?? ""}>
      {col !== null && (
        <pre class="caret">
          {chars.join("")}
          {"\n"}
          {" ".repeat(Math.min(col - 1, chars.length))}^
        </pre>
      )}
      <span>{col !== null ? `column ${col}: ${error}` : error}</span>
    </div>
  );
}
