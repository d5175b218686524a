/** The hub's protocol catalogue (`/api/v1/protocols`), fetched once per page and shared by every component
 * that asks what a protocol is (e.g. whether its entries are HTTP exchanges). */

import { useEffect, useState } from "preact/hooks";
import { getJson } from "../api.ts";
import type { ProtocolInfo } from "../lib/types.ts";

let catalogue: Promise<ProtocolInfo[]> | null = null;

/** The catalogue; a failed request is forgotten so that the next caller asks again. */
export function protocolCatalogue(): Promise<ProtocolInfo[]> {
  catalogue ??= getJson<unknown>("protocols").then(
    (list) => (Array.isArray(list) ? list.filter(isProtocolInfo) : []),
    (e: unknown) => {
      catalogue = null;
      throw e;
    },
  );
  return catalogue;
}

function isProtocolInfo(v: unknown): v is ProtocolInfo {
  return typeof v === "object" && v !== null && typeof (v as ProtocolInfo).name === "string";
}

/** The catalogue once it has arrived (null before, or when the hub could not be asked). */
export function useProtocols(): ProtocolInfo[] | null {
  const [list, setList] = useState<ProtocolInfo[] | null>(null);
  useEffect(() => {
    let live = true;
    protocolCatalogue().then(
      (l) => live && setList(l),
      () => {},
    );
    return () => {
      live = false;
    };
  }, []);
  return list;
}

/** Whether the catalogue says entries named `name` are HTTP exchanges. */
export function hasHttpSemantics(list: ProtocolInfo[] | null, name: string): boolean {
  return list?.some((p) => p.name === name && p.http_semantics === true) ?? false;
}
