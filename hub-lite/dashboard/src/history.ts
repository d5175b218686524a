/** Filters used before, newest first, in localStorage (storage may be unavailable: then none). */

const KEY = "kubectl-shark.filter-history";
const MAX = 30;

export function loadHistory(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string").slice(0, MAX) : [];
  } catch {
    return [];
  }
}

export function rememberFilter(q: string): string[] {
  const list = [q, ...loadHistory().filter((s) => s !== q)].filter((s) => s.trim() !== "").slice(0, MAX);
  try {
    localStorage.setItem(KEY, JSON.stringify(list));
  } catch {
    // Storage full or disabled: history is a convenience.
  }
  return list;
}
