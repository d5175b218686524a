/** The detail of WebSocket entries (docs/entry.md, WebSocket): one message, who sent it, its opcode and
 * frames, the payload, a Close's code and reason, and the way back to the 101 handshake entry. */

import { useEffect, useState } from "preact/hooks";
import { BodyView, KV, Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import { closeText, directionText, isWsMessage } from "../lib/websocket.ts";
import type { DetailProps, Renderer } from "./registry.ts";

function WebSocketView({ e, onAdd, onOpen }: DetailProps) {
  const m = isWsMessage(e.request) ? e.request : null;
  if (!m) {
    return (
      <Section title="Message">
        <div class="muted">not captured</div>
      </Section>
    );
  }
  return (
    <Section title="Message">
      <div class="startline">
        <b data-testid="ws-opcode">{m.opcode}</b>
        <Plus c={clause("request.opcode", m.opcode)} onAdd={onAdd} />{" "}
        <span data-testid="ws-direction" data-from={m.from}>
          {directionText(m.from)}
        </span>
        <Plus c={clause("request.from", m.from)} onAdd={onAdd} />
      </div>
      <table class="kv">
        <tbody>
          <KV k="frames" v={m.frames ?? "?"} testid="ws-frames" />
          <KV k="compressed" v={m.compressed ? "yes (permessage-deflate)" : "no"} testid="ws-compressed" />
          {m.close && (
            <KV k="close" testid="ws-close" v={
              <span>
                <span class={outcomeClass(e.outcome)}>{closeText(m.close)}</span>
                {typeof m.close.code === "number" && <Plus c={clause("request.close.code", m.close.code)} onAdd={onAdd} />}
              </span>
            } />
          )}
          <KV k="handshake" v={<Handshake id={m.handshake ?? null} onAdd={onAdd} onOpen={onOpen} />} />
        </tbody>
      </table>
      <BodyView body={m.body} testid="ws-payload" title="Payload" />
    </Section>
  );
}

/** The 101 entry the connection switched from: a button that opens it, and `+` for `id == "..."`. */
function Handshake({ id, onAdd, onOpen }: { id: string | null; onAdd(c: string): void; onOpen?(id: string): Promise<void> }) {
  const [error, setError] = useState("");
  useEffect(() => setError(""), [id]);
  if (id === null) return <span class="muted">not captured (the connection was already open)</span>;
  return (
    <span>
      {onOpen ? (
        <button class="btn" data-testid="ws-handshake" data-handshake={id} title="open the 101 entry"
          onClick={() => {
            setError("");
            onOpen(id).catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
          }}>
          {id} ↗
        </button>
      ) : (
        <span data-testid="ws-handshake" data-handshake={id}>{id}</span>
      )}
      <Plus c={clause("id", id)} onAdd={onAdd} />
      {error && <span class="error small"> {error}</span>}
    </span>
  );
}

export const websocket: Renderer = { Detail: WebSocketView };
