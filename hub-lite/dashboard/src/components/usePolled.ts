/** GETs an API resource now, again when its parameters change, and every `intervalMs` while mounted. */

import { useEffect, useState } from "preact/hooks";
import { getJson } from "../api.ts";

export function usePolled<T>(path: string, params: Record<string, string>, intervalMs: number) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState("");
  const key = JSON.stringify(params);
  useEffect(() => {
    let ctl = new AbortController();
    let stopped = false;
    const load = () => {
      ctl.abort();
      ctl = new AbortController();
      getJson<T>(path, params, ctl.signal).then(
        (d) => {
          if (!stopped) {
            setData(d);
            setError("");
          }
        },
        (e: unknown) => {
          if (!stopped && !ctl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
        },
      );
    };
    setData(null);
    load();
    const t = window.setInterval(load, intervalMs);
    return () => {
      stopped = true;
      window.clearInterval(t);
      ctl.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, key, intervalMs]);
  return { data, error };
}
