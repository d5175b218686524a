"""The golden capture's traffic (tests/golden/kafka/record): kafka-python against a real broker.
One producer per compression codec sending two records with a header, an admin client creating a
topic twice (TOPIC_ALREADY_EXISTS the second time), and a consumer group reading the records
back and committing. Prints what it sent and read (the client's own record) as JSON."""
import json
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

bootstrap = sys.argv[1]
topic = sys.argv[2] if len(sys.argv) > 2 else "golden"
codecs = (sys.argv[3] if len(sys.argv) > 3 else "gzip,snappy,lz4,zstd").split(",")
# "2.1": the API versions of Kafka 2.1 (no flexible versions), which tshark 4.0 decodes entirely;
# "" lets client and broker agree on today's versions.
api = tuple(int(x) for x in sys.argv[4].split(".")) if len(sys.argv) > 4 and sys.argv[4] else None
kw = {"api_version": api} if api else {}
sent, read = [], []
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="golden-admin", **kw)
admin.create_topics([NewTopic(topic, 1, 1)])
try:
    admin.create_topics([NewTopic(topic, 1, 1)])
except TopicAlreadyExistsError:
    pass
admin.close()
for codec in codecs:
    p = KafkaProducer(bootstrap_servers=bootstrap, client_id="golden-" + codec, compression_type=codec, linger_ms=50, **kw)
    futures = []
    for i in range(2):
        key, value = f"{codec}-{i}", (f"{codec} payload {i} <b>&amp;</b> " * 8)
        futures.append(p.send(topic, key=key.encode(), value=value.encode(), headers=[("trace", f"t{i}".encode())]))
        sent.append([key, value])
    for f in futures:
        f.get(timeout=20)
    p.close()
c = KafkaConsumer(topic, bootstrap_servers=bootstrap, client_id="golden-consumer", group_id="golden-group",
                  auto_offset_reset="earliest", enable_auto_commit=False, consumer_timeout_ms=3000,
                  fetch_max_wait_ms=100, **kw)
for m in c:
    read.append([m.key.decode(), m.value.decode()])
    if len(read) == len(sent):
        break
c.commit()
c.close()
print(json.dumps({"sent": sent, "read": read}))
