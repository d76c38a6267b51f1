#!/usr/bin/env python3
"""Baseline for the consumer benchmark: the same decode + validate + aggregate
work as msk-consumer's `process_batch`, written as idiomatic Python (standard
library only), on the same MSK event file.

    python3 bench/python_decode.py EVENT.json [ITERATIONS]

Prints one JSON line: records, rides, poison, best/median seconds per batch,
and peak RSS in KiB (ru_maxrss)."""

import base64
import binascii
import json
import re
import resource
import statistics
import sys
import time
import uuid

SCHEMA_VERSION = 1
FIELDS = {"schemaVersion", "eventId", "rideTimestamp", "orderId", "customerId", "pickup", "destination"}
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SECTOR = re.compile(r"sector_(\d\d)")
MIN_TS = 1_420_070_400_000
MAX_SKEW_MS = 5 * 60 * 1000
MAX_RECORD_BYTES = 1024 * 1024


class Poison(Exception):
    def __init__(self, kind, detail):
        super().__init__(detail)
        self.kind = kind


def sector(value, field):
    m = SECTOR.fullmatch(value) if isinstance(value, str) else None
    if not m or not 1 <= int(m.group(1)) <= 20:
        raise Poison("failed_validation", f"{field} {value!r} is not a sector name")
    return int(m.group(1))


def decode_ride(value_b64, now_ms):
    try:
        raw = base64.b64decode(value_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise Poison("bad_base64", str(e))
    if len(raw) > MAX_RECORD_BYTES:
        raise Poison("oversized", f"value is {len(raw)} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Poison("not_utf8", str(e))
    try:
        ride = json.loads(text)
    except json.JSONDecodeError as e:
        raise Poison("invalid_json", str(e))
    if not isinstance(ride, dict):
        raise Poison("bad_shape", "not an object")
    if ride.get("schemaVersion") != SCHEMA_VERSION:
        raise Poison("unknown_schema_version", str(ride.get("schemaVersion")))
    if set(ride) != FIELDS:
        raise Poison("bad_shape", f"fields {sorted(set(ride) ^ FIELDS)}")
    try:
        event_id = uuid.UUID(ride["eventId"])
    except (ValueError, TypeError, AttributeError) as e:
        raise Poison("bad_shape", str(e))
    ts = ride["rideTimestamp"]
    if not isinstance(ts, int) or isinstance(ts, bool):
        raise Poison("bad_shape", "rideTimestamp is not an integer")
    for field in ("orderId", "customerId"):
        if not isinstance(ride[field], str) or not ID.fullmatch(ride[field]):
            raise Poison("failed_validation", f"{field} is not a valid id")
    pickup = sector(ride["pickup"], "pickup")
    destination = sector(ride["destination"], "destination")
    if event_id.int == 0 or ts < MIN_TS or ts - now_ms > MAX_SKEW_MS:
        raise Poison("failed_validation", "eventId or rideTimestamp out of range")
    return event_id, ts, pickup, destination


def process_batch(payload, now_ms):
    """The compare bench's entry: the event's JSON text in, the counts out."""
    return process_event(json.loads(payload), now_ms)


def process_event(event, now_ms, dead_letters=None):
    """msk-consumer's `handle` on a parsed event: the summary it returns,
    field for field (latency aside, which depends on the clock). Poison
    records are appended to `dead_letters[records_key]` when it is a dict."""
    records = rides = duplicates = tombstones = value_bytes = 0
    poison = {}
    pickups = [0] * 21
    destinations = [0] * 21
    latencies = []
    seen = set()
    partitions = {}
    for key, batch in (event.get("records") or {}).items():
        if batch:
            offsets = [r.get("offset") for r in batch]
            span = partitions.setdefault(key, {"records": 0, "firstOffset": min(offsets), "lastOffset": max(offsets)})
            span["records"] += len(batch)
            span["firstOffset"] = min(span["firstOffset"], min(offsets))
            span["lastOffset"] = max(span["lastOffset"], max(offsets))
        for record in batch:
            records += 1
            value = record.get("value")
            if value is None:
                tombstones += 1
                continue
            value_bytes += decoded_len(value)
            try:
                event_id, ts, pickup, destination = decode_ride(value, now_ms)
            except Poison as p:
                poison[p.kind] = poison.get(p.kind, 0) + 1
                if dead_letters is not None:
                    dead_letters.setdefault(key, []).append(dead_letter(record, p))
                continue
            rides += 1
            if event_id in seen:
                duplicates += 1
            seen.add(event_id)
            pickups[pickup] += 1
            destinations[destination] += 1
            latencies.append(max(0, now_ms - ts))
    latencies.sort()
    p99 = latencies[max(0, -(-len(latencies) * 99 // 100) - 1)] if latencies else None
    per_sector = lambda counts: {f"sector_{n:02}": c for n, c in enumerate(counts) if c}
    return {
        "records": records,
        "rides": rides,
        "legacyRides": 0,
        "poison": sum(poison.values()),
        "poisonByKind": poison,
        "tombstones": tombstones,
        "duplicates": duplicates,
        "valueBytes": value_bytes,
        "ridesPerPickup": per_sector(pickups),
        "ridesPerDestination": per_sector(destinations),
        "partitions": partitions,
        "p99": p99,
    }


def decoded_len(value_b64):
    """Bytes the base64 text decodes to, without decoding it."""
    padding = value_b64[-2:].count("=")
    return max(0, len(value_b64) // 4 * 3 - padding)


def dead_letter(record, poison):
    """What msk-consumer's dead-letter sink keeps of a poison record."""
    return {
        "topic": record.get("topic"),
        "partition": record.get("partition"),
        "offset": record.get("offset"),
        "timestamp": record.get("timestamp"),
        "reasonKind": poison.kind,
        "reason": str(poison),
        "key": record.get("key"),
        "value": record.get("value"),
        "headers": record.get("headers") or [],
    }


def main():
    path = sys.argv[1]
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with open(path, "rb") as f:
        payload = f.read()
    now_ms = int(time.time() * 1000)
    times = []
    result = None
    for _ in range(iterations):
        start = time.perf_counter()
        result = process_batch(payload, now_ms)
        times.append(time.perf_counter() - start)
    result.update(
        implementation="python " + sys.version.split()[0],
        bytes=len(payload),
        best_seconds=min(times),
        median_seconds=statistics.median(times),
        iterations=iterations,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
