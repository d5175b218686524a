"""What tshark 4.0's kafka dissector sees in a capture, as the golden test's oracle: for each
request, `summary <API name> <topics>` (the topics the request names, first occurrence order,
comma-separated); for each response, `status <name>` of its first non-zero error code, NONE
without one. Names: the protocol guide's API names; error names from kafka-python's table (an
independent implementation), with -1 and 0 as the guide names them.

Usage: python3 oracle.py CAPTURE PORT"""
import json
import subprocess
import sys

import kafka.errors

API = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit", 9: "OffsetFetch",
       10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
       15: "DescribeGroups", 16: "ListGroups", 17: "SaslHandshake", 18: "ApiVersions", 19: "CreateTopics",
       20: "DeleteTopics", 22: "InitProducerId", 36: "SaslAuthenticate"}
ERRORS = {c.errno: c.message for c in vars(kafka.errors).values()
          if isinstance(c, type) and issubclass(c, kafka.errors.BrokerResponseError) and getattr(c, "errno", None) is not None}
ERRORS.update({-1: "UNKNOWN_SERVER_ERROR", 0: "NONE", 6: "NOT_LEADER_OR_FOLLOWER"})


def walk(node, key, out):
    """Values of `key` anywhere under node, in document order."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                out.extend(v if isinstance(v, list) else [v])
            else:
                walk(v, key, out)
    elif isinstance(node, list):
        for v in node:
            walk(v, key, out)
    return out


capture, port = sys.argv[1], sys.argv[2]
packets = json.loads(subprocess.run(
    ["tshark", "-o", "tcp.reassemble_out_of_order:TRUE", "-r", capture, "-d", f"tcp.port=={port},kafka",
     "-Y", "kafka", "-T", "json", "--no-duplicate-keys"], capture_output=True, check=True, text=True).stdout)
for p in packets:
    pdus = p["_source"]["layers"]["kafka"]
    for pdu in pdus if isinstance(pdus, list) else [pdus]:
        keys = walk(pdu, "kafka.request_key", [])
        if keys:
            topics = []
            for t in walk(pdu, "kafka.topic_name", []):
                if t not in topics:
                    topics.append(t)
            print("summary", " ".join([API.get(int(keys[0]), f"ApiKey{keys[0]}")] + ([", ".join(topics)] if topics else [])))
        elif walk(pdu, "kafka.response_key", []):
            errors = [int(e) for e in walk(pdu, "kafka.error", []) if int(e) != 0]
            print("status", ERRORS.get(errors[0], f"ERROR_{errors[0]}") if errors else "NONE")
