#!/usr/bin/env python3
"""The MongoDB e2e client (runs in a client pod): pymongo against FerretDB, recording every
command with pymongo's command monitoring (CommandListener), the client's own record, to a JSON
file: [{request_id, command, database, collection, status}] in the order they were sent.

usage: mongo_client.py HOST PORT OUT.json [--pause SECONDS]
Two phases on one long-lived connection (the mid-connection test cuts the capture between them,
during the pause); then a login attempt on another connection (redaction)."""
import json
import sys
import time

import pymongo
from pymongo import monitoring

CODE_NAMES = {11000: "DuplicateKey"}


class Listener(monitoring.CommandListener):
    def __init__(self):
        self.events = []

    def started(self, e):
        cmd = e.command
        first = cmd.get(e.command_name)
        coll = cmd.get("collection") if e.command_name == "getMore" else first
        self.events.append({"request_id": e.request_id, "command": e.command_name, "database": e.database_name,
                            "collection": coll if isinstance(coll, str) and coll else None,
                            "t": time.time()})

    def _event(self, e):
        return next(x for x in self.events if x["request_id"] == e.request_id and "status" not in x)

    def succeeded(self, e):
        ev = self._event(e)
        errors = e.reply.get("writeErrors") or []
        ev["status"] = CODE_NAMES[errors[0]["code"]] if errors else "OK"

    def failed(self, e):
        self._event(e)["status"] = e.failure.get("codeName")


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    pause = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--pause" else 0.0
    listener = Listener()
    client = pymongo.MongoClient(host, port, directConnection=True, maxPoolSize=1, heartbeatFrequencyMS=60000,
                                 event_listeners=[listener])
    db = client.shop
    db.orders.drop()
    db.orders.insert_one({"_id": 1, "sku": "a", "qty": 5})
    db.orders.insert_many([{"_id": i, "sku": "b", "qty": i % 7, "pad": "p" * 100} for i in range(2, 400)])
    assert len(list(db.orders.find({"sku": "b"}, batch_size=80))) == 398
    time.sleep(pause)
    print("PAUSE-END", time.time(), flush=True)
    db.orders.update_many({"sku": "b"}, {"$inc": {"qty": 1}})
    db.orders.delete_one({"_id": 2})
    list(db.orders.aggregate([{"$group": {"_id": "$qty", "n": {"$sum": 1}}}]))
    assert len(list(db.orders.find({"qty": {"$gte": 3}}, batch_size=50))) > 100
    db.users.drop()
    db.users.create_index("email", unique=True)
    db.users.insert_one({"email": "a@example.com"})
    try:
        db.users.insert_one({"email": "a@example.com"})
    except pymongo.errors.DuplicateKeyError:
        pass
    try:
        db.command("noSuchCommand")
    except pymongo.errors.OperationFailure:
        pass
    client.close()
    # A login attempt: SCRAM's first message travels in the handshake and in saslStart.
    login = pymongo.MongoClient(host, port, directConnection=True, username="shk-user",
                                password="shk-secret-password", authSource="admin",
                                authMechanism="SCRAM-SHA-256", serverSelectionTimeoutMS=3000,
                                event_listeners=[listener])
    try:
        login.admin.command("ping")
    except pymongo.errors.PyMongoError:
        pass
    login.close()
    with open(out, "w") as f:
        json.dump([e for e in listener.events if "status" in e], f)


if __name__ == "__main__":
    main()
