"""The AMQP e2e client (pika): two connections, one after the other, to BROKER:PORT.

- producer: declares exchange "orders" and queue "tasks", binds them, publishes N messages to
  "orders" (one with a credential-free HTML/script body), one to the default exchange, then a
  passive declare of a missing queue (refused: channel.close 404), reopens a channel;
- consumer: qos, consumes the messages with acks, basic.get (get-empty), cancels, deletes.
Between the two connections it sleeps PAUSE seconds and prints the wall time of the pause's middle
(for the mid-connection captures a long-lived third connection spans it: it publishes once before
and once after the pause).

Prints JSON on stdout: per connection, the methods the client sent that are not answers, in order,
with the status pika saw ("OK", or the close's reply code), and the number of deliveries.
"""
import json
import sys
import threading
import time

import pika

host, port, n, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
params = pika.ConnectionParameters(host, port, credentials=pika.PlainCredentials("guest", "e2e-secret-guest"),
                                   heartbeat=0)
record = {}

OPEN = [["connection.open", "OK"], ["channel.open", "OK"]]


def producer():
    sent = list(OPEN)
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.exchange_declare("orders", "direct"); sent.append(["exchange.declare", "OK"])
    ch.queue_declare("tasks"); sent.append(["queue.declare", "OK"])
    ch.queue_bind("tasks", "orders", "new"); sent.append(["queue.bind", "OK"])
    for i in range(n):
        body = b"<script>alert(1)</script>" if i == 0 else json.dumps({"order": i}).encode()
        ch.basic_publish("orders", "new", body, pika.BasicProperties(content_type="application/json"))
        sent.append(["basic.publish", "OK"])
    ch.basic_publish("", "tasks", b"direct"); sent.append(["basic.publish", "OK"])
    try:
        ch.queue_declare("missing-queue", passive=True)
        raise SystemExit("the passive declare of a missing queue succeeded")
    except pika.exceptions.ChannelClosedByBroker as e:
        sent.append(["queue.declare", str(e.reply_code)])
    ch = conn.channel(); sent.append(["channel.open", "OK"])
    ch.close(); sent.append(["channel.close", "0"])
    conn.close(); sent.append(["connection.close", "200"])
    record["producer"] = {"methods": sent}


def consumer():
    sent = list(OPEN)
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=10); sent.append(["basic.qos", "OK"])
    got = []

    def on_message(channel, method, properties, body):
        got.append(body)
        channel.basic_ack(method.delivery_tag)
        sent.append(["basic.ack", "OK"])

    tag = ch.basic_consume("tasks", on_message); sent.append(["basic.consume", "OK"])
    deadline = time.time() + 20
    while len(got) < n + 1 and time.time() < deadline:
        conn.process_data_events(time_limit=0.5)
    assert len(got) == n + 1, got
    ch.basic_cancel(tag); sent.append(["basic.cancel", "OK"])
    assert ch.basic_get("tasks") == (None, None, None); sent.append(["basic.get", "OK"])
    ch.queue_delete("tasks"); sent.append(["queue.delete", "OK"])
    ch.exchange_delete("orders"); sent.append(["exchange.delete", "OK"])
    ch.close(); sent.append(["channel.close", "0"])
    conn.close(); sent.append(["connection.close", "200"])
    record["consumer"] = {"methods": sent, "deliveries": len(got)}


def long_lived(ready, go):
    sent = list(OPEN)
    conn = pika.BlockingConnection(params)
    ch = conn.channel()
    ch.queue_declare("long"); sent.append(["queue.declare", "OK"])
    ch.basic_publish("", "long", b"before"); sent.append(["basic.publish", "OK"])
    ready.set()
    go.wait()
    ch.basic_publish("", "long", b"after"); sent.append(["basic.publish", "OK"])
    ch.queue_delete("long"); sent.append(["queue.delete", "OK"])
    ch.close(); sent.append(["channel.close", "0"])
    conn.close(); sent.append(["connection.close", "200"])
    record["long"] = {"methods": sent}


ready, go = threading.Event(), threading.Event()
t = threading.Thread(target=long_lived, args=(ready, go))
t.start()
ready.wait(30)
producer()
time.sleep(pause / 2)
record["pause_middle"] = time.time()
time.sleep(pause / 2)
consumer()
go.set()
t.join(30)
print(json.dumps(record))
