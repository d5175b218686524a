/** The detail of AMQP entries (docs/entry.md, AMQP): the method with its channel, sender and arguments, its
 * message (properties and body), and the method that answered it (or the close that refused it). */

import { BodyView, KV, Plus, Section } from "../components/parts.tsx";
import { clause } from "../lib/filterText.ts";
import { outcomeClass } from "../lib/format.ts";
import type { Body } from "../lib/types.ts";
import type { DetailProps, Renderer } from "./registry.ts";

interface AmqpMessage {
  properties?: Record<string, unknown> | null;
  body?: Body;
}

type AmqpMethod = Record<string, unknown> & { method: string; message?: AmqpMessage };

/** Keys of a method object that are not the method's arguments. */
const NOT_ARGS = new Set(["method", "channel", "from", "message"]);

function isMethod(v: unknown): v is AmqpMethod {
  return typeof v === "object" && v !== null && typeof (v as AmqpMethod).method === "string";
}

/** An argument or property value as text: scalars as they are, tables as JSON. */
function text(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function Args({ m, prefix, onAdd, testid }: { m: AmqpMethod; prefix: string; onAdd(c: string): void; testid: string }) {
  const args = Object.entries(m).filter(([k]) => !NOT_ARGS.has(k));
  if (args.length === 0) return <div class="muted">no arguments</div>;
  return (
    <table class="kv" data-testid={testid}>
      <tbody>
        {args.map(([k, v]) => (
          <KV key={k} k={k} v={
            <span>
              {text(v)}
              {(typeof v === "string" || typeof v === "number" || typeof v === "boolean") && (
                <Plus c={clause(`${prefix}.${k}`, v)} onAdd={onAdd} />
              )}
            </span>
          } />
        ))}
      </tbody>
    </table>
  );
}

function Message({ message, testid }: { message?: AmqpMessage; testid: string }) {
  if (!message) return null;
  const props = Object.entries(message.properties ?? {});
  return (
    <div data-testid={testid}>
      <h4>Message properties</h4>
      {props.length === 0 ? (
        <div class="muted">none</div>
      ) : (
        <table class="kv">
          <tbody>
            {props.map(([k, v]) => (
              <KV key={k} k={k} v={text(v)} />
            ))}
          </tbody>
        </table>
      )}
      <BodyView body={message.body} testid={`${testid}-body`} />
    </div>
  );
}

function AmqpView({ e, onAdd }: DetailProps) {
  const req = isMethod(e.request) ? e.request : null;
  const res = isMethod(e.response) ? e.response : null;
  return (
    <>
      <Section title="Method">
        {req ? (
          <>
            <div class="startline">
              <b data-testid="amqp-method">{req.method}</b>
              <Plus c={clause("request.method", req.method)} onAdd={onAdd} /> · channel {text(req.channel)}
              {" "}· sent by <span data-testid="amqp-from">{text(req.from)}</span>
            </div>
            <Args m={req} prefix="request" onAdd={onAdd} testid="amqp-args" />
            <Message message={req.message} testid="amqp-message" />
          </>
        ) : (
          <div class="muted">not captured</div>
        )}
      </Section>
      <Section title="Answer">
        {res ? (
          <>
            <div class="startline">
              <b class={outcomeClass(e.outcome)} data-testid="amqp-answer">{res.method}</b>
              <Plus c={clause("response.method", res.method)} onAdd={onAdd} />
            </div>
            <Args m={res} prefix="response" onAdd={onAdd} testid="amqp-answer-args" />
            <Message message={res.message} testid="amqp-answer-message" />
          </>
        ) : (
          <div class="muted">none (an asynchronous method, no-wait, or no answer seen)</div>
        )}
      </Section>
    </>
  );
}

export const amqp: Renderer = { Detail: AmqpView };
