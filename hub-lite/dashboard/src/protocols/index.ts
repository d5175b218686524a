/** Every protocol's detail renderer, one line each: import its module and register it under the entries'
 * `protocol` name. A protocol without a line here is shown as raw JSON. Imported once, by main.tsx. */

import { registerRenderer } from "./registry.ts";

import { http } from "./http.tsx"; registerRenderer("http", http);
import { dns } from "./dns.tsx"; registerRenderer("dns", dns);
import { websocket } from "./websocket.tsx"; registerRenderer("websocket", websocket);
import { grpc } from "./grpc.tsx"; registerRenderer("grpc", grpc);
import { mysql } from "./mysql.tsx"; registerRenderer("mysql", mysql);
import { redis } from "./redis.tsx"; registerRenderer("redis", redis);
import { postgresql } from "./postgresql.tsx"; registerRenderer("postgresql", postgresql);
import { amqp } from "./amqp.tsx"; registerRenderer("amqp", amqp);
import { kafka } from "./kafka.tsx"; registerRenderer("kafka", kafka);
import { mongodb } from "./mongodb.tsx"; registerRenderer("mongodb", mongodb);
