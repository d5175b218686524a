"""The AMQP conversation of the tests: a pika client and a RabbitMQ broker, through a recording
TCP relay. Writes JSON: the byte chunks each side sent, in the order the relay forwarded them, and
what pika's own frame decoder (pika.frame.decode_frame, an independent implementation) makes of
each direction: methods with their arguments, content headers with properties, bodies.

    python3 conversation.py BROKER_PORT OUT.json
"""
import base64
import json
import socket
import sys
import threading

import pika
import pika.frame

broker_port, out_path = int(sys.argv[1]), sys.argv[2]
chunks, lock = [], threading.Lock()

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1)
relay_port = listener.getsockname()[1]


def pump(src, dst, tag):
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        with lock:
            chunks.append([tag, data.hex()])
            dst.sendall(data)


def relay():
    client, _ = listener.accept()
    broker = socket.create_connection(("127.0.0.1", broker_port))
    threads = [threading.Thread(target=pump, args=(client, broker, "c")),
               threading.Thread(target=pump, args=(broker, client, "s"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


relay_thread = threading.Thread(target=relay)
relay_thread.start()

params = pika.ConnectionParameters("127.0.0.1", relay_port, credentials=pika.PlainCredentials("guest", "guest"))
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.exchange_declare("orders", "direct")
ch.queue_declare("tasks", arguments={"x-max-length": 100})
ch.queue_bind("tasks", "orders", "new")
props = pika.BasicProperties(content_type="application/json", headers={"x-n": 1, "trace": "abc"}, delivery_mode=2,
                             message_id="m-1", timestamp=1700000000)
ch.basic_publish("orders", "new", b'{"id": 1}', properties=props)
ch.basic_publish("orders", "new", b"<script>alert(1)</script>")
ch.basic_publish("", "tasks", bytes(range(256)) * 4)
ch.basic_qos(prefetch_count=10)
method, _, body = ch.basic_get("tasks")
ch.basic_ack(method.delivery_tag)
seen = []


def on_message(channel, method, properties, body):
    seen.append(body)
    if len(seen) == 1:
        channel.basic_nack(method.delivery_tag, requeue=False)
    else:
        channel.basic_ack(method.delivery_tag)


tag = ch.basic_consume("tasks", on_message)
while len(seen) < 2:
    conn.process_data_events(time_limit=1)
ch.basic_cancel(tag)
assert ch.basic_get("tasks") == (None, None, None)
try:
    ch.queue_declare("missing", passive=True)
    raise SystemExit("passive declare of a missing queue succeeded")
except pika.exceptions.ChannelClosedByBroker as e:
    assert e.reply_code == 404, e
ch2 = conn.channel()
ch2.queue_delete("tasks")
ch2.exchange_delete("orders")
ch2.close()
conn.close()
relay_thread.join()


def method_name(pika_name):
    cls, meth = pika_name.split(".")
    kebab = "".join("-" + c.lower() if c.isupper() else c for c in meth).lstrip("-")
    return f"{cls.lower()}.{kebab}"


RESERVED = {"ticket", "nowait", "capabilities", "insist", "known_hosts", "cluster_id", "channel_id", "out_of_band"}


def plain(v):
    if isinstance(v, bytes):
        try:
            return v.decode()
        except UnicodeDecodeError:
            return base64.b64encode(v).decode()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def decode(tag):
    data = bytes.fromhex("".join(h for t, h in chunks if t == tag))
    frames = []
    while data:
        used, frame = pika.frame.decode_frame(data)
        assert used, "pika could not decode the rest"
        data = data[used:]
        if isinstance(frame, pika.frame.Method):
            args = {k: plain(v) for k, v in vars(frame.method).items() if k not in RESERVED}
            if "nowait" in vars(frame.method):
                args["no_wait"] = frame.method.nowait
            frames.append({"kind": "method", "channel": frame.channel_number,
                           "method": method_name(frame.method.NAME), "args": args})
        elif isinstance(frame, pika.frame.Header):
            p = {k: plain(v) for k, v in vars(frame.properties).items() if v is not None}
            frames.append({"kind": "header", "channel": frame.channel_number, "body_size": frame.body_size,
                           "properties": p})
        elif isinstance(frame, pika.frame.Body):
            frames.append({"kind": "body", "channel": frame.channel_number,
                           "base64": base64.b64encode(frame.fragment).decode()})
        elif isinstance(frame, pika.frame.Heartbeat):
            frames.append({"kind": "heartbeat"})
        elif isinstance(frame, pika.frame.ProtocolHeader):
            frames.append({"kind": "protocol-header"})
    return frames


json.dump({"chunks": chunks, "pika": {"client": decode("c"), "server": decode("s")}}, open(out_path, "w"), indent=0)
print(f"{len(chunks)} chunks")
