#!/usr/bin/env python3
"""Writes tests/data/compat-corpus.ndjson: payloads in the shapes real
terminals and hosts send (card, QR, wallet, every status, each code set,
array batches, heartbeat variants, and what must be refused), each with the
counts it must produce.

The class an outcome must get comes from tests/data/code-meanings.csv (each
code's published meaning and class), never from running swipewatch.

Each line: {"name", "topic", "payload" (the exact text published; `{TS}` is
replaced by the current epoch ms and `{RFC3339}` by the current time when
the test runs), "expect": {"outcomes": [class, ...] accepted outcomes in
order, "heartbeats": n, "rejected": {reason: n}, "dropped": {field: n}}}.

Run from the repository root: python3 tests/data/make-corpus.py
"""

import csv
import json
import random

random.seed(20261203)
rows = list(csv.DictReader(open("tests/data/code-meanings.csv", encoding="utf-8")))
by_table = {}
for r in rows:
    by_table.setdefault(r["table"], []).append(r)

TXN = "dt/pos/v1/{region}/{acq}/{term}/txn"
HB = "dt/pos/v1/{region}/{acq}/{term}/hb"
REGIONS = ["east", "south", "north", "west"]
ACQS = ["acq-cn1", "acq-cn2", "acq-eu1"]
corpus = []
serial = 0


def topic(kind="txn", term=None):
    t = term or f"T-{random.randint(1000, 9999)}"
    tpl = TXN if kind == "txn" else HB
    return tpl.format(region=random.choice(REGIONS), acq=random.choice(ACQS), term=t)


def eid():
    global serial
    serial += 1
    return f"cx-{serial:05d}"


def add(name, payload, outcomes=(), heartbeats=0, rejected=None, dropped=None, kind="txn", raw=None, top=None):
    text = raw if raw is not None else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    text = text.replace('"__TS__"', "{TS}").replace("__RFC3339__", "{RFC3339}")
    corpus.append({
        "name": name,
        "topic": top or topic(kind),
        "payload": text,
        "expect": {
            "outcomes": list(outcomes),
            "heartbeats": heartbeats,
            "rejected": rejected or {},
            "dropped": dropped or {},
        },
    })


def outcome(status, **fields):
    o = {"event_id": eid(), "ts": "__TS__", "outcome": status}
    o.update(fields)
    return o


# 1. Every listed code, in the shape its network sends it.
SCHEME = {"iso8583": ["visa", "mastercard"], "iso8583-1993": ["visa", "amex"], "unionpay": ["unionpay"],
          "wechatpay": None, "alipay": None}
for table, codes in by_table.items():
    picks = codes if len(codes) <= 30 else random.sample(codes, 30)
    for r in picks:
        code, cls = r["code"], r["class"]
        status = "approved" if cls == "approved" else "declined"
        expect = cls
        fields = {"rc": code}
        if SCHEME[table] is None:
            fields["wallet"] = "wechatpay" if table == "wechatpay" else "alipay"
            fields["channel"] = "qr"
            fields["terminal_id"] = f"QR-{random.randint(100, 999)}"
        else:
            fields["scheme"] = random.choice(SCHEME[table])
            fields["bin"] = "622202" if table == "unionpay" else random.choice(["412345", "545454", "378282"])
            fields["entry_mode"] = random.choice(["chip", "contactless", "EMV", "nfc", "swipe"])
        if random.random() < 0.3:
            fields["amount_minor"] = random.choice([1250, "880", 99])
            fields["currency"] = random.choice(["CNY", "156", "eur", "JPY", "392"])
        add(f"{table} {code} ({r['meaning'][:40]})", outcome(status, **fields), outcomes=[expect])

# 2. Terminal errors with no host answer.
TERM = {"comm_lost": "comms", "host_unavailable": "comms", "host_timeout": "host_timeout",
        "chip_read_error": "device_fault", "pinpad_error": "device_fault", "ctls_error": "device_fault",
        "mac_error": "terminal_config", "key_error": "terminal_config", "config_error": "terminal_config",
        "app_exception": "device_fault", "swipe_error": "device_fault"}
for err, cls in TERM.items():
    for shape in ("nested", "flat"):
        o = outcome("failed", term_error=err, entry_mode="chip")
        if shape == "nested":
            o["net"] = {"type": "4g", "carrier": "cmcc", "cell_id": random.randint(1, 99999), "rssi_dbm": -97}
            o["sw"] = {"fw": "px3-5.2.1", "app": "pay-7.9.0"}
        else:
            o.update({"carrier": "unicom", "net_type": "4g", "rssi": 14, "fw": "v2.0.8", "app": "7.1"})
        add(f"terminal error {err} ({shape} net/sw)", o, outcomes=[cls])

# 3. Statuses that are not attempts, bare timeouts, cancellations.
add("timeout with no code", outcome("timeout", latency_ms=30000), outcomes=["host_timeout"])
add("cancelled by cardholder", outcome("cancelled", entry_mode="contactless"), outcomes=["cancelled"])
add("QR still waiting for the customer", outcome("pending", rc="USERPAYING", wallet="wechatpay", channel="qr"), outcomes=["cancelled"])
add("reversal", outcome("reversed", rc="00", scheme="visa"), outcomes=["cancelled"])
add("void as reversed", outcome("reversed", entry_mode="chip"), outcomes=["cancelled"])

# Every transaction type: voids and reversals undo an earlier transaction
# and are not attempts, whatever their status; the rest are attempts.
for kind, spelling in [("sale", "SALE"), ("pre_auth", "pre-auth"), ("completion", "completion"),
                       ("refund", "refund"), ("balance_inquiry", "balance_inquiry"),
                       ("sign_on", "sign_on"), ("settlement", "settlement")]:
    add(f"{kind} failing with 96", outcome("declined", rc="96", scheme="visa", txn_type=spelling),
        outcomes=["acquirer_switch_error"])
    add(f"{kind} approved", outcome("approved", rc="00", scheme="visa", transaction_type=spelling),
        outcomes=["approved"])
for kind in ["void", "VOID", "reversal", "reverse"]:
    add(f"{kind} declined", outcome("declined", rc="96", scheme="visa", txn_type=kind), outcomes=["cancelled"])
    add(f"{kind} approved", outcome("approved", rc="00", txn_type=kind), outcomes=["cancelled"])
add("transaction type as a number", outcome("declined", rc="96", scheme="visa", txn_type=200),
    outcomes=["acquirer_switch_error"])
add("transaction type as an object", outcome("declined", rc="96", scheme="visa", txn_type={"t": 1}),
    outcomes=["acquirer_switch_error"], dropped={"txn_type": 1})

# 4. Fields in other shapes that mean the same thing.
add("numeric ids", outcome("approved", terminal_id=88001, merchant_id=102938, acquirer=7), outcomes=["approved"])
add("numeric rc 5 is 05", outcome("declined", rc=5, scheme="visa"), outcomes=["issuer_policy_decline"])
add("numeric rc 51", outcome("declined", rc=51, scheme="visa"), outcomes=["cardholder_decline"])
add("string amount, numeric currency", outcome("approved", amount_minor="125000", currency="156"), outcomes=["approved"])
add("latency as float", outcome("approved", latency_ms=640.0), outcomes=["approved"])
add("saf as 1", outcome("approved", saf=1), outcomes=["approved"])
add("saf as string", outcome("approved", saf="true"), outcomes=["approved"])
add("RFC 3339 time", outcome("approved", ts="__RFC3339__"), outcomes=["approved"])
add("CSQ signal", outcome("approved", net={"carrier": "cmcc", "rssi": 18}), outcomes=["approved"])
add("ASU signal named", outcome("approved", net={"carrier": "cmcc", "rssi": 50, "rssi_unit": "asu"}), outcomes=["approved"])
add("entry mode QR_MPM", outcome("approved", entry_mode="QR_MPM", wallet="alipay", rc="10000"), outcomes=["approved"])
add("entry mode in_app", outcome("approved", entry_mode="in_app"), outcomes=["approved"])
add("entry mode unknown name", outcome("approved", entry_mode="biometric"), outcomes=["approved"])
add("8-digit BIN", outcome("declined", bin="41234567", rc="91", scheme="visa"), outcomes=["issuer_unavailable"])
add("unknown extra fields", outcome("approved", mcc="5411", stan=123456, batch_no="000123"), outcomes=["approved"])

# 5. Optional fields that are malformed: dropped, counted, outcome kept.
DROPS = [
    ("latency_ms", -5, "latency_ms"), ("latency_ms", "slow", "latency_ms"), ("saf", "maybe", "saf"),
    ("bin", "41", "bin"), ("bin", "41x345", "bin"), ("currency", "€", "currency"), ("currency", "RMB1", "currency"),
    ("rc_source", "bank", "rc_source"), ("rc_source", 3, "rc_source"), ("entry_mode", 3, "entry_mode"),
    ("amount_minor", -100, "amount_minor"), ("amount_minor", "12.50", "amount_minor"), ("seq", "abc", "seq"),
    ("net", "4g", "net"), ("sw", "4.2.1", "sw"), ("model", {"name": "A920"}, "model"),
    ("merchant_id", ["M1"], "merchant_id"), ("region", True, "region"),
]
for field, value, label in DROPS:
    o = outcome("failed", term_error="comm_lost")
    o[field] = value
    add(f"malformed optional {field}={json.dumps(value, ensure_ascii=False)}", o, outcomes=["comms"], dropped={label: 1})
o = outcome("failed", term_error="comm_lost", net={"carrier": "cmcc", "rssi_dbm": -300})
add("rssi far out of range", o, outcomes=["comms"], dropped={"net.rssi": 1})
o = outcome("failed", term_error="comm_lost", net={"carrier": "cmcc", "rssi": 99})
add("CSQ 99 means not known", o, outcomes=["comms"], dropped={"net.rssi": 1})
o = outcome("failed", term_error="comm_lost", model="M" * 200)
add("dimension value over 128 bytes", o, outcomes=["comms"], dropped={"model": 1})
o = outcome("failed", term_error="comm_lost", rc="X" * 80)
add("response code over 64 characters", o, outcomes=["comms"], dropped={"rc": 1})

# 6. Array batches.
batch = [outcome("approved", entry_mode="chip") for _ in range(4)]
add("array of 4 outcomes", batch, outcomes=["approved"] * 4)
batch = [outcome("declined", rc="51", scheme="visa"), {"terminal_id": "x", "ts": "__TS__", "outcome": "approved"},
         outcome("approved"), 7]
add("array with a bad element", batch, outcomes=["cardholder_decline", "approved"],
    rejected={"missing_field": 1, "malformed_json": 1})
batch = [outcome("failed", term_error="chip_read_error", latency_ms="x"), outcome("approved", saf=2)]
add("array with dropped fields", batch, outcomes=["device_fault", "approved"], dropped={"latency_ms": 1, "saf": 1})

# 7. Heartbeats.
for i in range(12):
    term = f"T-{2000 + i}"
    hb = {"terminal_id": term, "ts": "__TS__", "seq": i, "uptime_s": 3600 * i, "battery_pct": 20 + 5 * i,
          "host_reachable": i % 3 != 0, "saf_queue_depth": i % 4, "chip_read_err": i % 2, "tamper": False}
    shape = i % 4
    if shape == 0:
        hb["net"] = {"type": "4g", "carrier": "cmcc", "cell_id": f"c-{i}", "rssi_dbm": -70 - i}
    elif shape == 1:
        hb.update({"carrier": "unicom", "rssi": 12 + i, "fw": "px3-5.2.1"})
    elif shape == 2:
        hb["net"] = {"type": "wifi", "rssi": -55, "rssi_unit": "dbm"}
        hb["sw"] = {"fw": "4.2.1", "app": "7.0.3"}
    else:
        del hb["terminal_id"]
    add(f"heartbeat shape {shape} #{i}", hb, heartbeats=1, kind="hb", top=topic("hb", term))
add("heartbeat battery above 100", {"ts": "__TS__", "battery_pct": 140}, heartbeats=1, dropped={"battery_pct": 1}, kind="hb")
add("heartbeat tamper as 1", {"ts": "__TS__", "tamper": 1, "uptime_s": "86400"}, heartbeats=1, kind="hb")
add("heartbeat counters negative", {"ts": "__TS__", "swipe_err": -2}, heartbeats=1, dropped={"reader_counts": 1}, kind="hb")
add("heartbeat batch", [{"ts": "__TS__", "battery_pct": 80}, {"ts": "__TS__", "host_reachable": "false"}], heartbeats=2, kind="hb")
add("heartbeat without time", {"battery_pct": 80}, rejected={"missing_field": 1}, kind="hb")

# 8. What must be refused.
add("no event_id", {"terminal_id": "T-1", "ts": "__TS__", "outcome": "approved"}, rejected={"missing_field": 1})
add("no outcome", {"event_id": eid(), "ts": "__TS__"}, rejected={"missing_field": 1})
add("no time", {"event_id": eid(), "outcome": "approved"}, rejected={"missing_field": 1})
add("time is not a time", {"event_id": eid(), "ts": "yesterday", "outcome": "approved"}, rejected={"bad_timestamp": 1})
add("time in 1970", {"event_id": eid(), "ts": 1000, "outcome": "approved"}, rejected={"bad_timestamp": 1})
add("unknown outcome", outcome("settled"), rejected={"bad_type": 1})
add("outcome as number", outcome(3), rejected={"bad_type": 1})
add("event_id as object", {"event_id": {"id": 1}, "ts": "__TS__", "outcome": "approved"}, rejected={"bad_type": 1})
add("not JSON", None, raw='{"event_id":"x",', rejected={"malformed_json": 1})
add("a bare string", None, raw='"approved"', rejected={"malformed_json": 1})
dup = outcome("approved")
add("first of a duplicate pair", dup, outcomes=["approved"])
add("the duplicate", dup, rejected={"duplicate": 1})
PAN = "4111111111111111"
pan_forms = [
    ("plain", PAN), ("grouped", "4111 1111 1111 1111"), ("dashed", "4111-1111-1111-1111"),
    ("one escaped digit", "\\u0034" + PAN[1:]), ("all escaped", "".join(f"\\u{ord(c):04x}" for c in PAN)),
    ("escaped dashes", "4111\\u002d1111\\u002d1111\\u002d1111"),
    ("full-width", "".join(chr(0xFF10 + int(c)) for c in PAN)),
    ("unionpay", "6212345678901232"), ("amex", "378282246310005"),
]
for form, text in pan_forms:
    for field in ("terminal_id", "note"):
        o = outcome("approved")
        o[field] = "@@PAN@@"
        raw = json.dumps(o, ensure_ascii=False, separators=(",", ":")).replace("@@PAN@@", text)
        add(f"card number {form} in {field}", None, raw=raw, rejected={"card_number_present": 1})

with open("tests/data/compat-corpus.ndjson", "w", encoding="utf-8") as f:
    for c in corpus:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
print(len(corpus), "payloads")
