/** Shapes of the hub API (docs/api.md) and of entries (docs/entry.md). Everything that comes from the
 * network is treated as possibly malformed: optional fields are optional here too. */

export interface Endpoint {
  ip: string;
  port: number;
  pod?: string | null;
  namespace?: string | null;
  service?: string | null;
  node?: string | null;
}

/** Whether an exchange succeeded, in common words (docs/entry.md, "outcome"). */
export type Outcome = "ok" | "client_error" | "server_error" | "error" | "no_response";

/** A list row: an entry without request/response/notes, plus the hub sequence number, and the request's
 * `method` and `path` when it has them (any protocol). */
export interface Row {
  seq: number;
  id: string;
  protocol: string;
  transport: string;
  ts: string;
  elapsed_us: number | null;
  src: Endpoint;
  dst: Endpoint;
  summary: string;
  status: string | null;
  /** Absent from hubs older than the field; treated as unknown. */
  outcome?: Outcome;
  /** Read as plaintext from a TLS library (eBPF), not from packets on the wire. */
  tls?: boolean;
  request_size: number;
  response_size: number;
  method?: string;
  path?: string;
}

export interface Body {
  size?: number;
  mime?: string | null;
  encoding?: string | null;
  text?: string;
  base64?: string;
  truncated?: boolean;
}

/** An HTTP request (docs/entry.md, HTTP/1.x and HTTP/2). `path` is absent from an HTTP/2 CONNECT. */
export interface HttpRequest {
  method: string;
  path?: string;
  version?: string;
  headers?: [string, string][];
  query?: [string, string][];
  body?: Body;
  /** HTTP/2: the `:authority` and `:scheme` pseudo-headers, the stream, and trailers the client sent. */
  authority?: string;
  scheme?: string;
  stream_id?: number;
  trailers?: [string, string][];
}

export interface HttpResponse {
  status: number;
  reason?: string;
  version?: string;
  headers?: [string, string][];
  body?: Body;
  interim?: { status: number; reason?: string }[];
  /** HTTP/2: the trailing header block, when there was one. */
  trailers?: [string, string][];
}

/** A whole entry as served by `GET /api/v1/entries/{id}`. */
export interface Entry extends Omit<Row, "method" | "path"> {
  request: unknown;
  response: unknown;
  notes?: string[];
}

/** One element of `/api/v1/protocols`: a protocol the engine knows. */
export interface ProtocolInfo {
  name: string;
  about?: string;
  /** Its entries are HTTP exchanges (copy as curl, HAR). */
  http_semantics?: boolean;
}

export interface StoreStats {
  stored: number;
  bytes: number;
  capacity: number;
  max_bytes: number;
  received: number;
  evicted: number;
}

export interface Session {
  version: string;
  api: number;
  mode: string;
  redact: boolean;
  store?: StoreStats;
}

export interface AgentHealth {
  name: string;
  url?: string;
  connected: boolean;
  last_error?: string | null;
  packets?: number;
  bytes?: number;
  drops?: number;
  entries?: number;
  entries_per_s?: number;
  packets_per_s?: number;
  reconnects?: number;
  filter?: string | null;
  sent?: number;
  filtered_out?: number;
}

export interface Health {
  agents: AgentHealth[];
  store?: StoreStats;
  clients?: number;
}

export interface Latency {
  count: number;
  p50?: number | null;
  p90?: number | null;
  p95?: number | null;
  p99?: number | null;
  max?: number | null;
}

export interface TimelinePoint {
  t: string;
  entries: number;
  bytes: number;
}

export interface Stats {
  total: { entries: number; bytes: number };
  protocols: Record<string, { entries: number; bytes: number }>;
  timeline: { bucket_seconds: number; start: string | null; series: Record<string, TimelinePoint[]> };
  status: Record<string, number>;
  /** Entries per outcome; every outcome is present. */
  outcomes?: Record<string, number>;
  latency_us: Latency;
  latency_by_protocol_us: Record<string, Latency>;
}

export interface MapNode {
  id: string;
  label: string;
  kind: string;
  namespace?: string | null;
  entries_in: number;
  entries_out: number;
}

export interface MapEdge {
  source: string;
  target: string;
  protocol: string;
  entries: number;
  errors: number;
  error_rate: number;
  p50_us: number | null;
  p95_us: number | null;
  bytes: number;
  /** Entries per second over the map's window. */
  per_s?: number;
  /** Entries by the client's role, for protocols with roles (a broker's producers and consumers). */
  roles?: Record<string, number>;
}

export interface ServiceMap {
  nodes: MapNode[];
  edges: MapEdge[];
}

export function isHttpRequest(v: unknown): v is HttpRequest {
  return typeof v === "object" && v !== null && typeof (v as HttpRequest).method === "string";
}

export function isHttpResponse(v: unknown): v is HttpResponse {
  return typeof v === "object" && v !== null && typeof (v as HttpResponse).status === "number";
}
