#!/usr/bin/env python3
"""Reads `tshark -T json --no-duplicate-keys` output of a MongoDB capture (tshark's mongo
dissector) and prints the golden oracle: per request "summary <command> <db>.<collection>" (the
body document's first element name, its string value or getMore's `collection`, and `$db`; for
OP_QUERY the full collection name's database), per reply "status OK" or the failure's name
(`codeName`, else the name of `code` in the first writeErrors entry or the reply)."""
import json
import sys

# MongoDB's error_codes.yml, the codes this capture can meet.
CODE_NAMES = {11000: "DuplicateKey", 59: "CommandNotFound", 26: "NamespaceNotFound", 2: "BadValue"}


def as_list(x):
    return x if isinstance(x, list) else [x]


def elements(doc):
    """(name, tree) pairs of a tshark mongo document."""
    els = doc.get("mongo.elements", {})
    names = as_list(els.get("mongo.element.name", []))
    trees = as_list(els.get("mongo.element.name_tree", []))
    return list(zip(names, trees))


def value(tree):
    for k in ("mongo.element.value.string", "mongo.element.value.int", "mongo.element.value.double",
              "mongo.element.value.int64", "mongo.element.value.bool"):
        if k in tree:
            return tree[k]
    return None


def status(doc):
    els = dict(elements(doc))
    ok = els.get("ok")
    if ok is not None and float(value(ok)) == 0:
        if "codeName" in els:
            return value(els["codeName"])
        return CODE_NAMES.get(int(value(els["code"])), "Location" + value(els["code"]))
    if "writeErrors" in els:
        first = elements(els["writeErrors"]["mongo.document"])[0][1]["mongo.document"]
        code = int(value(dict(elements(first))["code"]))
        return CODE_NAMES.get(code, f"Location{code}")
    return "OK"


def request_summary(doc, db=None):
    els = elements(doc)
    command = els[0][0]
    d = dict(els)
    db = value(d["$db"]) if "$db" in d else db
    coll = value(d["collection"]) if command == "getMore" else value(els[0][1])
    if els[0][1].get("mongo.element.type") != "0x02" and command != "getMore":
        coll = None
    return f"{command} {db}.{coll}" if coll else f"{command} {db}"


for packet in json.load(sys.stdin):
    for pdu in as_list(packet["_source"]["layers"].get("mongo", [])):
        op = pdu["mongo.opcode"]
        reply = int(pdu["mongo.response_to"], 16) != 0
        if op == "2013":
            body = next(s["mongo.msg.sections.section.body"] for s in as_list(pdu["mongo.msg.sections.section"])
                        if s["mongo.msg.sections.section.kind"] == "0")
            print(f"status {status(body)}" if reply else f"summary {request_summary(body)}")
        elif op == "2004":
            db = pdu["mongo.full_collection_name"].split(".")[0]
            print(f"summary {request_summary(pdu['mongo.query'], db)}")
        elif op == "1":
            print(f"status {status(as_list(pdu['mongo.document'])[0])}")
