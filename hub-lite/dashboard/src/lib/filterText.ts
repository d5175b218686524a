/** Building filter text (docs/filter.md) from values the user clicked on. */

/** A value as a filter string literal, with the escapes the filter language knows. */
export function quoteString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += `\\u{${c.toString(16)}}`;
    else out += ch;
  }
  return out + '"';
}

/** A literal for a clicked value: numbers bare, everything else quoted. */
export function literal(value: string | number | boolean | null): string {
  if (value === null) return "null";
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return quoteString(String(value));
}

/** `field == value` (or another operator). */
export function clause(field: string, value: string | number | boolean | null, op = "=="): string {
  return `${field} ${op} ${literal(value)}`;
}

/** Appends a clause with `and`. A filter with an `or` anywhere (even inside a string: wrapping is always
 * correct, only sometimes unneeded) is put in parentheses first so the new clause narrows all of it. */
export function addClause(current: string, newClause: string): string {
  const cur = current.trim();
  if (cur === "") return newClause;
  if (/\bor\b|\|\|/.test(cur)) return `(${cur}) and ${newClause}`;
  return `${cur} and ${newClause}`;
}
