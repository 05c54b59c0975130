#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes tests/data/prompts_labelled.jsonl: Fooocus-style prompts with labelled personal data and secrets,
and many hard negatives (versions, GUIDs, hashes, resolutions, seeds, LoRA names, dates without a birth
context). Deterministic: the same script always writes the same file.

Each line: {"prompt": "...", "labels": [{"type": "EMAIL", "begin": 12, "end": 29}, ...]} with byte offsets
into the UTF-8 prompt. Types are detect::detector_type names (docs/privacy.md §3, §4).

    python3 tests/data/make_prompts_labelled.py > tests/data/prompts_labelled.jsonl
"""
import hashlib
import json
import random
import zlib

R = random.Random(20261127)

# ---------------------------------------------------------------------------------------------------------
# Valid values

def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(R.randrange(10))
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    digits.append((10 - total % 10) % 10)
    return "".join(map(str, digits))


def luhn_ok(s):
    total = 0
    for i, c in enumerate(reversed(s)):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card():
    kind = R.choice(["visa", "mc", "mc2", "amex", "disc"])
    if kind == "visa":
        n = luhn_complete("4" + str(R.randrange(10)), 16)
    elif kind == "mc":
        n = luhn_complete(str(R.randrange(51, 56)), 16)
    elif kind == "mc2":
        n = luhn_complete(str(R.randrange(2221, 2721)), 16)
    elif kind == "amex":
        n = luhn_complete(R.choice(["34", "37"]), 15)
    else:
        n = luhn_complete("6011", 16)
    sep = R.choice(["", " ", "-", " "])
    if len(n) == 15:
        groups = [n[:4], n[4:10], n[10:]]
    else:
        groups = [n[i:i + 4] for i in range(0, 16, 4)]
    return sep.join(groups) if sep else n


def bad_card16():
    while True:
        n = "".join(str(R.randrange(10)) for _ in range(16))
        if not luhn_ok(n):
            return n


IBAN_LEN = {"DE": 22, "GB": 22, "FR": 27, "ES": 24, "IT": 27, "NL": 18, "BE": 16, "CH": 21, "AT": 20}


def iban_check(country, bban):
    s = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in s)
    return "%02d" % (98 - int(num) % 97)


def iban(spaced=None):
    country = R.choice(list(IBAN_LEN))
    n = IBAN_LEN[country] - 4
    if country == "GB":
        bban = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + "".join(
            str(R.randrange(10)) for _ in range(n - 4))
    elif country == "NL":
        bban = "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + "".join(
            str(R.randrange(10)) for _ in range(n - 4))
    elif country == "IT":
        bban = R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") + "".join(str(R.randrange(10)) for _ in range(n - 1))
    else:
        bban = "".join(str(R.randrange(10)) for _ in range(n))
    s = country + iban_check(country, bban) + bban
    if spaced is None:
        spaced = R.random() < 0.6
    if spaced:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def bad_iban():
    s = iban(spaced=False)
    check = int(s[2:4])
    wrong = "%02d" % ((check + R.randrange(1, 90)) % 97 or 3)
    return s[:2] + wrong + s[4:]


def ssn():
    while True:
        a = R.randrange(1, 900)
        if a != 666:
            break
    return "%03d-%02d-%04d" % (a, R.randrange(1, 100), R.randrange(1, 10000))


def bad_ssn():
    kind = R.randrange(5)
    if kind == 0:
        return "000-%02d-%04d" % (R.randrange(1, 100), R.randrange(1, 10000))
    if kind == 1:
        return "666-%02d-%04d" % (R.randrange(1, 100), R.randrange(1, 10000))
    if kind == 2:
        return "%03d-%02d-%04d" % (R.randrange(900, 1000), R.randrange(1, 100), R.randrange(1, 10000))
    if kind == 3:
        return "%03d-00-%04d" % (R.randrange(1, 600), R.randrange(1, 10000))
    return "%03d-%02d-0000" % (R.randrange(1, 600), R.randrange(1, 100))


def digits(n):
    return "".join(str(R.randrange(10)) for _ in range(n))


def phone():
    kind = R.randrange(12)
    if kind == 0:
        return "+1 %d%s %s %s" % (R.randrange(2, 10), digits(2), "555", digits(4))
    if kind == 1:
        return "(%d%s) 555-%s" % (R.randrange(2, 10), digits(2), digits(4))
    if kind == 2:
        return "%d%s-555-%s" % (R.randrange(2, 10), digits(2), digits(4))
    if kind == 3:
        return "+44 20 7946 %s" % digits(4)
    if kind == 4:
        return "+44 7700 900%s" % digits(3)
    if kind == 5:
        return "+49 30 %s" % digits(8)
    if kind == 6:
        return "+49 151 %s" % digits(8)
    if kind == 7:
        return "+33 1 %s %s %s %s" % (digits(2), digits(2), digits(2), digits(2))
    if kind == 8:
        return "+33 6 %s %s %s %s" % (digits(2), digits(2), digits(2), digits(2))
    if kind == 9:
        return "+91 9%s %s" % (digits(4), digits(5))
    if kind == 10:
        return "+1%d%s555%s" % (R.randrange(2, 10), digits(2), digits(4))
    return "+44 161 496 %s" % digits(4)


FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
         "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki", "zoe", "li.wei", "j.smith",
         "m_garcia", "anna-lena", "o'brien"]
DOMAINS = ["example.com", "corp.example", "mail.example.org", "studio-lab.io", "acme.co.uk", "gmail.com",
           "outlook.com", "uni-berlin.de", "agency.fr", "design.studio"]


def email():
    name = R.choice(FIRST)
    if name == "o'brien":
        name = "obrien"
    if R.random() < 0.3:
        name += str(R.randrange(1, 99))
    if R.random() < 0.15:
        name += "+fooocus"
    return "%s@%s" % (name, R.choice(DOMAINS))


def ipv4():
    return "%d.%d.%d.%d" % (R.choice([10, 172, 192, 203, 198, 81, 62]), R.randrange(256), R.randrange(256),
                            R.randrange(1, 255))


def ipv6():
    kind = R.randrange(3)
    if kind == 0:
        return "2001:db8:%x:%x::%x" % (R.randrange(65536), R.randrange(65536), R.randrange(1, 65536))
    if kind == 1:
        return "fe80::%x:%x:%x:%x" % tuple(R.randrange(65536) for _ in range(4))
    return ":".join("%x" % R.randrange(65536) for _ in range(8))


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check(payload):
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32_addr(prog):
    hrp = "bc"
    data = [0]
    acc, bits = 0, 0
    for b in prog:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp_exp = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = bech32_polymod(hrp_exp + data + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + chk)


ETH = ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
       "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
       "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
       "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26"]


def crypto():
    kind = R.randrange(3)
    if kind == 0:
        return b58check(bytes([0]) + bytes(R.randrange(256) for _ in range(20)))
    if kind == 1:
        return bech32_addr(bytes(R.randrange(256) for _ in range(20)))
    return R.choice(ETH)


def dob():
    y, m, d = R.randrange(1940, 2006), R.randrange(1, 13), R.randrange(1, 29)
    fmt = R.randrange(4)
    if fmt == 0:
        date = "%04d-%02d-%02d" % (y, m, d)
    elif fmt == 1:
        date = "%02d/%02d/%04d" % (m, d, y)
    elif fmt == 2:
        date = "%02d.%02d.%04d" % (d, m, y)
    else:
        date = "%d %s %d" % (d, ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"][m - 1], y)
    ctx = R.choice(["born on ", "date of birth ", "DOB: ", "D.O.B. ", "birthday ", "born "])
    return ctx, date


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def rnd(n, alphabet=ALNUM):
    return "".join(R.choice(alphabet) for _ in range(n))


def github():
    body = rnd(30)
    crc = zlib.crc32(body.encode()) & 0xffffffff
    enc = ""
    while crc:
        crc, r = divmod(crc, 62)
        enc = B62[r] + enc
    return R.choice(["ghp_", "gho_", "ghs_", "ghu_"]) + body + enc.rjust(6, "0")


def b64url(n):
    return rnd(n, ALNUM + "-_")


def secret():
    kind = R.randrange(12)
    if kind == 0:
        return "AWS_ACCESS_KEY", "", R.choice(["AKIA", "ASIA"]) + rnd(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    if kind == 1:
        return "GITHUB_TOKEN", "", github()
    if kind == 2:
        return "GITLAB_TOKEN", "", "glpat-" + rnd(20, ALNUM + "-_")
    if kind == 3:
        return "SLACK_TOKEN", "", "xoxb-%s-%s-%s" % (digits(12), digits(13), rnd(24))
    if kind == 4:
        return "OPENAI_KEY", "", "sk-proj-" + rnd(48, ALNUM + "-_") + "T3BlbkFJ" + rnd(20, ALNUM + "-_")
    if kind == 5:
        return "ANTHROPIC_KEY", "", "sk-ant-api03-" + rnd(93, ALNUM + "-_") + "AA"
    if kind == 6:
        return "STRIPE_KEY", "", R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rnd(24)
    if kind == 7:
        return "GOOGLE_API_KEY", "", "AIza" + rnd(35, ALNUM + "-_")
    if kind == 8:
        head = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        return "JWT", "", head + "." + "eyJ" + b64url(R.randrange(40, 90)) + "." + b64url(43)
    if kind == 9:
        user = R.choice(["admin", "deploy", "svc_render", "root"])
        return "URL_CREDENTIALS", "", "https://%s:%s@%s/api" % (user, rnd(14), R.choice(
            ["db.internal.example", "render.example.com", "queue.example.net:8443"]))
    if kind == 10:
        word = R.choice(["api_key=", "token: ", "secret=", "password: ", "Bearer ", "apikey "])
        return "GENERIC_SECRET", word, rnd(32, ALNUM)
    lines = [rnd(64, ALNUM + "+/") for _ in range(3)]
    return "PRIVATE_KEY", "", ("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n" +
                               rnd(20, ALNUM) + "==\n-----END RSA PRIVATE KEY-----")

# ---------------------------------------------------------------------------------------------------------
# Fooocus-style prompt pieces (all negatives)

SUBJECTS = ["portrait of an elderly fisherman", "a red fox in a snowy forest", "cyberpunk street market at night",
            "product photo of a luxury watch on marble", "isometric cozy bedroom", "astronaut riding a horse",
            "studio headshot of a ceo", "watercolor map of a fantasy kingdom", "macro shot of a dewdrop on a leaf",
            "anime girl with silver hair", "brutalist concrete villa at sunset", "bowl of ramen, food photography",
            "professional product photography, luxury watch on marble surface", "koi pond in a zen garden",
            "steampunk airship over london", "minimalist logo of a mountain", "vintage poster of a jazz club",
            "portrait of a samurai in rain", "children's book illustration of a bear", "neon sign that says open"]
CJK = ["桜の木の下の猫", "赛博朋克城市夜景", "한복을 입은 여자", "🌸✨ dreamy pastel sky 🌙", "صورة لقطة على الشاطئ",
       "רחוב בירושלים בשקיעה", "Ölgemälde einer Straße in München", "café à Paris, lumière dorée"]
STYLES = ["Fooocus V2", "Fooocus Enhance", "Fooocus Sharp", "SAI Cinematic", "SAI Photographic", "MRE Dark Cyberpunk",
          "Fooocus Masterpiece", "sai-enhance", "Fooocus Photograph", "Fooocus Negative"]
WEIGHTS = ["(masterpiece:1.2)", "(best quality:1.1)", "((ultra detailed))", "(sharp focus:0.9)", "[blurry]",
           "(cinematic lighting:1.3)", "(film grain:0.6)", "(bokeh:1.15)", "(8k:1.05)"]
LORAS = ["<lora:sd_xl_offset_example-lora_1.0:0.1>", "<lora:add-detail-xl:0.8>", "<lora:sdxl_lightning_4step_lora:1.0>",
         "<lora:brand-style-v2:0.8>", "<lora:pixel-art-xl-v1.1:0.7>", "<lora:juggernaut_cinematic_v3:0.5>"]
MODELS = ["juggernautXL_v8Rundiffusion", "sd_xl_base_1.0", "realisticStockPhoto_v20", "animaPencilXL_v500",
          "sd_xl_refiner_1.0_0.9vae", "playground-v2.5-1024px-aesthetic"]


def guid():
    h = "%032x" % R.getrandbits(128)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def negative_piece():
    kind = R.randrange(16)
    if kind == 0:
        return "seed %s" % digits(10)
    if kind == 1:
        return "seed: %d" % R.randrange(10 ** 8, 10 ** 9)
    if kind == 2:
        return "%dx%d" % R.choice([(1024, 1024), (1152, 896), (896, 1152), (1216, 832), (1344, 768), (1536, 640)])
    if kind == 3:
        return "Fooocus v2.%d.%d" % (R.randrange(0, 6), R.randrange(0, 900))
    if kind == 4:
        return "request %s" % guid()
    if kind == 5:
        return "model hash sha256:%064x" % R.getrandbits(256)
    if kind == 6:
        return "version %d.%d.%d.%d" % (R.randrange(1, 4), R.randrange(0, 20), R.randrange(0, 300), R.randrange(0, 99))
    if kind == 7:
        return "seed %s" % bad_card16()
    if kind == 8:
        return "released %04d-%02d-%02d" % (R.randrange(2019, 2027), R.randrange(1, 13), R.randrange(1, 29))
    if kind == 9:
        return "steps %d, cfg %.1f, sampler dpmpp_2m_sde_gpu, scheduler karras" % (R.randrange(20, 60), R.uniform(3, 8))
    if kind == 10:
        return "part no. %s" % bad_ssn()
    if kind == 11:
        return "job #%s" % digits(9)
    if kind == 12:
        return "commit %040x" % R.getrandbits(160)
    if kind == 13:
        return "iban-like ref %s" % bad_iban()
    if kind == 14:
        return "ratio 16:9, %d MP, ISO %d, f/%.1f" % (R.randrange(12, 61), R.choice([100, 200, 400, 800]), R.uniform(1.2, 8))
    return "card design with number %s" % bad_card16()


def base_prompt():
    parts = [R.choice(CJK) if R.random() < 0.12 else R.choice(SUBJECTS)]
    for _ in range(R.randrange(1, 4)):
        parts.append(R.choice(WEIGHTS))
    if R.random() < 0.5:
        parts.append(R.choice(LORAS))
    parts.append(R.choice(STYLES))
    if R.random() < 0.4:
        parts.append(R.choice(MODELS))
    return parts


PII_CONTEXT = {
    "EMAIL": ["contact {}", "send results to {}", "signed by {}", "by {}"],
    "PHONE": ["call {}", "phone {}", "client hotline {}", "tel. {}", "whatsapp {}"],
    "SSN": ["employee SSN {}", "ssn {}", "social security number {}"],
    "CREDIT_CARD": ["billed to card {}", "card {}", "payment {}", "visa {}"],
    "IBAN": ["IBAN {}", "refund to {}", "bank account {}"],
    "IP_ADDRESS": ["render node {}", "from ip {}", "host {}"],
    "CRYPTO_ADDRESS": ["tip jar {}", "donate to {}", "wallet {}"],
}


def pii_value(t):
    return {"EMAIL": email, "PHONE": phone, "SSN": ssn, "CREDIT_CARD": card, "IBAN": iban,
            "IP_ADDRESS": lambda: ipv4() if R.random() < 0.6 else ipv6(), "CRYPTO_ADDRESS": crypto}[t]()


def build():
    rows = []
    kinds = (["EMAIL"] * 55 + ["PHONE"] * 55 + ["SSN"] * 25 + ["CREDIT_CARD"] * 35 + ["IBAN"] * 22 +
             ["IP_ADDRESS"] * 22 + ["CRYPTO_ADDRESS"] * 15 + ["DATE_OF_BIRTH"] * 15 + ["SECRET"] * 60)
    R.shuffle(kinds)
    plan = []
    i = 0
    while i < len(kinds):
        r = R.random()
        if r < 0.25:
            plan.append([])  # hard negative prompt
        elif r < 0.85 or i + 1 >= len(kinds):
            plan.append([kinds[i]])
            i += 1
        else:
            plan.append(kinds[i:i + 2])
            i += 2
    for kinds_here in plan:
        parts = base_prompt()
        labels = []
        # Negatives in every prompt.
        for _ in range(R.randrange(1, 3)):
            parts.insert(R.randrange(1, len(parts) + 1), negative_piece())
        text = ""
        pieces = []
        for k in kinds_here:
            if k == "SECRET":
                t, prefix, v = secret()
                tmpl = R.choice(["oops pasted {}", "{}", "config {}", "use key {}"]) if not prefix else "{}"
                pieces.append((t, tmpl, prefix, v))
            elif k == "DATE_OF_BIRTH":
                ctx, date = dob()
                pieces.append(("DATE_OF_BIRTH", "portrait for patient, {}", ctx, date))
            else:
                pieces.append((k, R.choice(PII_CONTEXT[k]), "", pii_value(k)))
        # Assemble with byte offsets.
        slots = sorted(R.sample(range(1, len(parts) + 1), 0) + [R.randrange(1, len(parts) + 1) for _ in pieces])
        items = list(parts)
        for (t, tmpl, prefix, v), slot in zip(pieces, slots):
            items.insert(min(slot, len(items)), (t, tmpl, prefix, v))
        out = b""
        for n, it in enumerate(items):
            if n:
                out += b", "
            if isinstance(it, tuple):
                t, tmpl, prefix, v = it
                before, after = tmpl.split("{}")
                out += (before + prefix).encode()
                begin = len(out)
                out += v.encode()
                labels.append({"type": t, "begin": begin, "end": len(out)})
                out += after.encode()
            else:
                out += it.encode()
        rows.append({"prompt": out.decode(), "labels": labels})
    # The seed article's example prompts (negatives).
    rows.append({"prompt": "professional product photography, luxury watch on marble surface", "labels": []})
    rows.append({"prompt": "blurry, low resolution, watermark", "labels": []})
    return rows


def main():
    rows = build()
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
