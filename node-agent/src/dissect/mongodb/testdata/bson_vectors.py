#!/usr/bin/env python3
"""Writes types.bson (a document holding every BSON type, encoded by pymongo's bson) and
types.json (the same document as Relaxed Extended JSON v2 by bson.json_util): the oracle of the
dissector's BSON-to-JSON conversion."""
import datetime
import json
import os
import re

import bson
from bson import json_util
from bson.binary import Binary
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

HERE = os.path.dirname(os.path.abspath(__file__))
doc = {
    "double": 1.5, "whole_double": 2.0, "neg": -0.25, "nan": float("nan"), "inf": float("inf"),
    "string": "héllo <b>", "empty": "",
    "doc": {"a": 1, "b": {"c": [1, 2]}}, "array": [1, "two", 3.0, None],
    "binary": Binary(b"\x00\x01\xfe\xff", 0), "uuid": Binary(bytes(range(16)), 4),
    "oid": ObjectId("5f1e2d3c4b5a69788796a5b4"), "true": True, "false": False,
    "date": datetime.datetime(2024, 2, 29, 12, 34, 56, 789000, tzinfo=datetime.timezone.utc),
    "old_date": datetime.datetime(1960, 1, 1, tzinfo=datetime.timezone.utc),
    "null": None, "regex": Regex("^a.c$", "im"), "code": Code("function(){return 1}"),
    "code_scope": Code("x", {"x": 1}), "int32": -7, "ts": Timestamp(1700000000, 3),
    "int64": Int64(1 << 40), "dec": Decimal128("1.2345E+10"), "dec2": Decimal128("-0.00012"),
    "dec3": Decimal128("123"), "dec4": Decimal128("1E-100"), "dec_inf": Decimal128("-Infinity"),
    "dec_nan": Decimal128("NaN"), "dec_zero": Decimal128("0.000"), "min": MinKey(), "max": MaxKey(),
}
open(os.path.join(HERE, "types.bson"), "wb").write(bson.encode(doc))
text = json_util.dumps(bson.decode(bson.encode(doc)), json_options=json_util.RELAXED_JSON_OPTIONS)
open(os.path.join(HERE, "types.json"), "w").write(text + "\n")
