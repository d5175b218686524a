/** The detail renderers of protocols, by entry `protocol` name. A protocol's module (a file in this
 * directory) exports its renderer and index.ts registers it in one line; the detail pane looks it up
 * here and shows the raw request and response for protocols without one. Nothing outside this directory
 * names a protocol. */

import { h, type ComponentType } from "preact";
import { Section } from "../components/parts.tsx";
import type { Entry, Row } from "../lib/types.ts";

/** What a renderer's `Detail` gets: the whole entry, the filter's "add this clause", and "open the entry
 * with this id" (for entries that point to others, such as a WebSocket message to its handshake; it
 * rejects with the reason when the hub does not have that entry). */
export interface DetailProps {
  e: Entry;
  onAdd(clause: string): void;
  onOpen?(id: string): Promise<void>;
}

export interface Renderer {
  /** The protocol's sections of the detail pane (request, response, ...), below the common overview. */
  Detail: ComponentType<DetailProps>;
  /** Offer "copy as curl" even when the hub's catalogue does not say the protocol has HTTP semantics
   * (the entry's request must still be an HTTP request: method, path, headers). */
  canCopyAsCurl?: boolean;
  /** Rows of this protocol that the list hides by default because they are noise (a database
   * driver's heartbeats): `what` names them in the list's chip ("heartbeats"), which shows how many
   * are hidden and turns hiding off. */
  hide?: { what: string; matches(r: Row): boolean };
}

/** A protocol's rule for rows hidden by default. */
export interface HideRule {
  protocol: string;
  what: string;
  matches(r: Row): boolean;
}

const renderers = new Map<string, Renderer>();

/** Registers the renderer of the entries named `name` (a later registration replaces an earlier one). */
export function registerRenderer(name: string, renderer: Renderer): void {
  renderers.set(name, renderer);
}

/** The rules of every protocol that hides rows by default. */
export function hideRules(): HideRule[] {
  return [...renderers].flatMap(([protocol, r]) => (r.hide ? [{ protocol, ...r.hide }] : []));
}

/** The rows the list shows: all, or those no protocol hides by default (unless `showHidden`). */
export function shownRows(rows: Row[], rules: HideRule[], showHidden: boolean): Row[] {
  if (showHidden || rules.length === 0) return rows;
  return rows.filter((r) => !rules.some((h) => h.protocol === r.protocol && h.matches(r)));
}

/** Shows the request and response as JSON: the renderer of protocols that have none of their own. */
function RawDetail({ e }: DetailProps) {
  const json = JSON.stringify({ request: e.request, response: e.response }, null, 2);
  return h(Section, { title: "Raw", children: h("pre", { class: "code" }, json) });
}

export const RAW: Renderer = { Detail: RawDetail };

/** The renderer of entries named `name`; the raw one when none is registered. */
export function rendererFor(name: string): Renderer {
  return renderers.get(name) ?? RAW;
}
