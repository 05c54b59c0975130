#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Renders the HTML compliance report in headless Chromium and checks it (ctest `report_html_chromium`).

1. Builds a log with `fooocus-audit append` (several users, models, LoRAs, safety and policy events).
2. Writes the monthly report as JSON and as HTML with `fooocus-audit report`.
3. Takes a screenshot with `chromium --headless` and checks that it is not blank: many distinct colours and
   a fair share of non-white pixels (the PNG is decoded here with zlib; standard library only).
4. Dumps the DOM with `--dump-dom` and checks that every figure of the page (elements carrying
   data-figure="<JSON Pointer>") equals the JSON report's value at that path, and that the key figures are there.

Exit status 0 passed, 1 failed, 77 skipped (chromium is not installed: ctest reports the test as skipped).
"""

import argparse
import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


def events():
    h = "hmac-sha256:" + "a" * 64
    out = []
    users = ["alice@acme.example", "bob@acme.example", "carol@acme.example"]
    models = ["sd_xl_base_1.0", "juggernautXL_v8", "sd_xl_base_1.0"]
    for i in range(24):
        u = users[i % 3]
        loras = [{"name": "brand-style-v2", "weight": 0.8}] if i % 4 == 0 else []
        out.append({"event_type": "image_generation", "request_id": "req_%d" % i, "user_id": u,
                    "tenant_id": "acme_corp",
                    "request": {"prompt_sanitized": "a watch", "num_images": 1, "loras": loras},
                    "processing": {"model_version": models[i % 3], "generation_duration_ms": 1000 + 10 * i},
                    "safety": {"has_nsfw_concepts": i % 7 == 0, "safety_checker_version": "v2.1"},
                    "result": "success"})
    out.append({"event_type": "generation.failed", "request_id": "req_f", "error_details": "CUDA out of memory",
                "user_id": "bob@acme.example", "tenant_id": "acme_corp", "generation_duration_ms": 50})
    for _ in range(4):
        out.append({"event_type": "auth.failed", "user_id": "<script>alert(1)</script>", "tenant_id": "acme_corp",
                    "method": "password"})
    out.append({"event_type": "auth.succeeded", "user_id": "alice@acme.example", "tenant_id": "acme_corp",
                "mfa": True})
    out.append({"event_type": "apikey.created", "key_id": "key_a", "tenant_id": "acme_corp"})
    out.append({"event_type": "apikey.revoked", "key_id": "key_b", "tenant_id": "acme_corp"})
    out.append({"event_type": "safety_check.completed", "request_id": "req_0", "prompt_hash": h,
                "has_nsfw_concepts": [True], "action": "blocked", "tenant_id": "acme_corp"})
    out.append({"event_type": "policy.violation", "prompt_hash": h, "rule_id": "R-1", "rule_name": "public figures",
                "severity": "high", "action": "rejected", "tenant_id": "acme_corp"})
    out.append({"event_type": "config.updated", "setting": "safety_checker.enabled", "old_value": False,
                "new_value": True, "changed_by": "admin@acme.example", "approved_by": "security@acme.example",
                "tenant_id": "acme_corp"})
    out.append({"event_type": "alert.raised", "rule": "nsfw_pattern", "severity": "high", "tenant_id": "acme_corp"})
    return out


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=kw.pop("timeout", 120), **kw)


def decode_png(data):
    """(width, height, rows of RGB(A) tuples) of an 8-bit RGB or RGBA non-interlaced PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("the screenshot is not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace != 0:
                fail("unexpected PNG format depth=%d colour=%d interlace=%d" % (depth, colour, interlace))
            bpp = 3 if colour == 2 else 4
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 0xFF
            elif f == 2:
                line[x] = (line[x] + b) & 0xFF
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


class Figures(html.parser.HTMLParser):
    """Collects the text of every element with a data-figure attribute (they hold no child elements)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.figures, self.stack, self.verified = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-figure" in a:
            if a["data-figure"] == "/verification/verified":
                self.verified = a.get("data-value")
            else:
                self.stack.append([a["data-figure"], ""])

    def handle_endtag(self, tag):
        if tag == "span" and self.stack:
            self.figures.append(tuple(self.stack.pop()))

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][1] += data


def lookup(doc, pointer):
    """The value at a JSON Pointer (RFC 6901)."""
    if not pointer.startswith("/"):
        raise KeyError(pointer)
    v = doc
    for part in pointer[1:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(v, list):
            v = v[int(part)]
        else:
            v = v[part]
    return v


def plain(v):
    if v is None:
        return "n/a"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, float):
        return repr(v)
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True, help="the fooocus-audit tool")
    ap.add_argument("--keep", help="copy the report, screenshot and DOM here")
    args = ap.parse_args()
    chromium = find_chromium()
    if not chromium:
        print("SKIPPED: chromium is not installed (scripts/deps.sh installs it)")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="fa_report_chromium.") as tmp:
        log = os.path.join(tmp, "log")
        lines = "".join(json.dumps(e) + "\n" for e in events())
        r = run([args.cli, "append", "--dir", log, "--durability", "none"], input=lines.encode())
        if r.returncode != 0:
            fail("append: %s" % r.stderr.decode())
        js, page = os.path.join(tmp, "report.json"), os.path.join(tmp, "report.html")
        for fmt, out in (("json", js), ("html", page)):
            r = run([args.cli, "report", log, "--format", fmt, "--out", out])
            if r.returncode != 0:
                fail("report --format %s exited %d: %s" % (fmt, r.returncode, r.stderr.decode()))
        with open(js, encoding="utf-8") as f:
            doc = json.load(f)
        shot = os.path.join(tmp, "shot.png")
        base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--no-first-run", "--user-data-dir=" + os.path.join(tmp, "profile")]
        url = "file://" + page
        r = run(base + ["--screenshot=" + shot, "--window-size=1200,2000", url], timeout=120)
        if not os.path.exists(shot):
            fail("chromium wrote no screenshot (exit %d): %s" % (r.returncode, r.stderr.decode()[-2000:]))
        r = run(base + ["--dump-dom", url], timeout=120)
        dom = r.stdout.decode("utf-8", "replace")
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
            for p in (js, page, shot):
                shutil.copy(p, args.keep)
            with open(os.path.join(args.keep, "dom.html"), "w", encoding="utf-8") as f:
                f.write(dom)

        # The screenshot is not blank.
        with open(shot, "rb") as f:
            width, height, bpp, rows = decode_png(f.read())
        colours, non_white, total = set(), 0, 0
        for row in rows[::2]:
            for x in range(0, width * bpp, bpp * 2):
                px = row[x:x + 3]
                colours.add(px)
                total += 1
                if px != b"\xff\xff\xff":
                    non_white += 1
        share = non_white / max(total, 1)
        print("screenshot %dx%d: %d distinct colours, %.1f %% non-white" % (width, height, len(colours), 100 * share))
        if len(colours) < 50:
            fail("the screenshot has only %d distinct colours: blank page?" % len(colours))
        if share < 0.02:
            fail("the screenshot is %.2f %% non-white: blank page?" % (100 * share))
        for c in ((0x2f, 0x6f, 0xdf), (0xe8, 0x83, 0x3a)):  # chart bar colours
            if bytes(c) not in colours:
                fail("the chart colour #%02x%02x%02x is not on the screenshot" % c)

        # The page's figures are the JSON report's.
        p = Figures()
        p.feed(dom)
        if "<script>alert(1)</script>" in dom.split("<body", 1)[-1].replace("&lt;script&gt;", ""):
            fail("a user_id from the log was rendered as markup")
        if p.verified != "true":
            fail("the page's verification banner says %r" % p.verified)
        if len(p.figures) < 60:
            fail("only %d figures in the DOM" % len(p.figures))
        mismatches = []
        for path, text in p.figures:
            try:
                want = plain(lookup(doc, path))
            except (KeyError, IndexError, ValueError):
                mismatches.append("%s: not in the JSON report" % path)
                continue
            if text != want:
                mismatches.append("%s: page %r, JSON %r" % (path, text, want))
        if mismatches:
            fail("%d figure(s) differ:\n  %s" % (len(mismatches), "\n  ".join(mismatches[:20])))
        paths = {f[0] for f in p.figures}
        for need in ("/executive_summary/total_generations", "/executive_summary/success_rate_percent",
                     "/executive_summary/average_per_day", "/access_summary/failed_authentications",
                     "/model_usage/models/0/percent", "/safety_events/nsfw_generations",
                     "/content_policy/violations", "/anomalies/alerts_raised", "/configuration_changes/total",
                     "/generations_per_day/0/generations", "/lifecycle_records/generation.failed"):
            if need not in paths:
                fail("the page does not show %s" % need)
        es = doc["executive_summary"]
        if es["total_generations"] != 25 or es["successful_generations"] != 24:
            fail("unexpected totals in the JSON report: %r" % es)
        print("OK: %d figures on the page equal the JSON report; screenshot not blank" % len(p.figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
