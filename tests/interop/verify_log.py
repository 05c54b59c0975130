#!/usr/bin/env python3
"""Independent verifier of fooocus_audit logs, written from docs/log-format.md alone.

Python 3 standard library only; Ed25519 signatures are checked with `openssl pkeyutl -verify -rawin`.

    verify_log.py LOG_DIR [--mac-key SEED_FILE] [--key VERIFIER_KEY_FILE]... [--anchor ANCHOR_FILE]...
                  [--openssl PATH] [--json]

LOG_DIR may also be a single segment file (verified from the seq its name states).
Exit status (log-format.md §8.4): 0 intact, 1 findings, 2 usage or I/O error.

Section references (§) are to docs/log-format.md. Where the spec leaves a choice open, the comment says
"ASSUMPTION" and what was assumed.
"""

import argparse
import base64
import hashlib
import hmac
import json
import math
import os
import re
import stat
import subprocess
import sys
import tempfile

MAX_RECORD_BYTES = 16 * 1024 * 1024  # §2.1
SAFE_INT = 2 ** 53 - 1               # §2.1 (I-JSON)
MAX_DEPTH = 64                       # §2.1
MAX_OPEN_GAPS = 4096                 # §8.1

SEGMENT_RE = re.compile(r'segment-([0-9]{20})\.jsonl\Z')
HEX32_RE = re.compile(r'[0-9a-f]{32}\Z')
HEX64_RE = re.compile(r'[0-9a-f]{64}\Z')
TS_RE = re.compile(r'([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.[0-9]{6}Z\Z')
EVENT_TYPE_RE = re.compile(r'[a-z][a-z0-9_.-]{0,127}\Z')
SIG_LINE_RE = re.compile('\u2014 ([^\\s+]+) ([A-Za-z0-9+/]+={0,2})\\Z')
DECIMAL_RE = re.compile(r'(0|[1-9][0-9]*)\Z')
SURROGATE_RE = re.compile('[\ud800-\udfff]')

GENESIS_LABEL = b'fooocus-audit/v1/genesis'
MAC_INIT = b'fooocus-audit/v1/mac/init'
MAC_EVOLVE = b'fooocus-audit/v1/mac/evolve'
MAC_RECORD = b'fooocus-audit/v1/mac/record'
SEED_PREFIX = b'fooocus-audit-mac-seed-v1 '
ED25519_SPKI_PREFIX = bytes.fromhex('302a300506032b6570032100')


class UsageError(Exception):
    """Verification could not run (exit 2)."""


# ----------------------------------------------------------------------------------------------------------------
# JSON: I-JSON parsing and RFC 8785 (JCS) serialization (§2.1)

class JsonError(ValueError):
    pass


def _pairs(items):
    obj = {}
    for k, v in items:
        if k in obj:
            raise JsonError('duplicate member name %r' % k)
        obj[k] = v
    return obj


def _parse_int(s):
    n = int(s)
    if n > SAFE_INT or n < -SAFE_INT:
        raise JsonError('integer %s outside [-(2^53-1), 2^53-1]' % s)
    return n


def _parse_float(s):
    x = float(s)
    if math.isinf(x) or math.isnan(x):
        raise JsonError('number %s is not finite in IEEE 754 double' % s)
    return x


def _parse_constant(s):
    raise JsonError('%s is not JSON' % s)


def _check_tree(v, depth):
    if isinstance(v, dict):
        depth += 1
        if depth > MAX_DEPTH:
            raise JsonError('nesting deeper than %d' % MAX_DEPTH)
        for k, x in v.items():
            if SURROGATE_RE.search(k):
                raise JsonError('member name with a surrogate code point')
            _check_tree(x, depth)
    elif isinstance(v, list):
        depth += 1
        if depth > MAX_DEPTH:
            raise JsonError('nesting deeper than %d' % MAX_DEPTH)
        for x in v:
            _check_tree(x, depth)
    elif isinstance(v, str):
        if SURROGATE_RE.search(v):
            raise JsonError('string with a surrogate code point')


def parse_ijson(data):
    """bytes -> value; JsonError when not (I-)JSON."""
    try:
        text = data.decode('utf-8')  # strict: rejects overlong forms, encoded surrogates, > U+10FFFF
    except UnicodeDecodeError as e:
        raise JsonError('invalid UTF-8: %s' % e)
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_int=_parse_int,
                           parse_float=_parse_float, parse_constant=_parse_constant)
    except RecursionError:
        raise JsonError('nesting too deep')
    except ValueError as e:
        raise JsonError(str(e))
    _check_tree(value, 0)
    return value


_ESCAPES = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r'}
_ESC_RE = re.compile('[\x00-\x1f"\\\\]')


def _esc(m):
    c = m.group(0)
    return _ESCAPES.get(c) or '\\u%04x' % ord(c)


def es_number(x):
    """ECMAScript Number.prototype.toString of a finite double (RFC 8785 §3.2.2.3)."""
    if x == 0:
        return '0'
    sign = '-' if x < 0 else ''
    r = repr(abs(x))  # shortest round-trip digits, like ECMAScript
    if 'e' in r:
        mant, exp = r.split('e')
        exp = int(exp)
    else:
        mant, exp = r, 0
    ip, _, fp = mant.partition('.')
    all_digits = ip + fp
    stripped = all_digits.lstrip('0')
    n = len(ip) + exp - (len(all_digits) - len(stripped))
    digits = stripped.rstrip('0')
    k = len(digits)
    if k <= n <= 21:
        s = digits + '0' * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + '.' + digits[n:]
    elif -6 < n <= 0:
        s = '0.' + '0' * (-n) + digits
    else:
        e = n - 1
        s = digits[0] + ('.' + digits[1:] if k > 1 else '') + 'e' + ('+' if e >= 0 else '-') + str(abs(e))
    return sign + s


def _utf16_key(s):
    return s.encode('utf-16-be')


def jcs_str(v):
    if v is None:
        return 'null'
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return es_number(v)
    if isinstance(v, str):
        return '"' + _ESC_RE.sub(_esc, v) + '"'
    if isinstance(v, list):
        return '[' + ','.join(jcs_str(x) for x in v) + ']'
    if isinstance(v, dict):
        return '{' + ','.join(jcs_str(k) + ':' + jcs_str(v[k]) for k in sorted(v, key=_utf16_key)) + '}'
    raise TypeError(type(v))


def jcs(v):
    return jcs_str(v).encode('utf-8')


# ----------------------------------------------------------------------------------------------------------------
# Hashes (§3)

def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(record_bytes):
    return sha256(b'\x00' + record_bytes)


def node_hash(left, right):
    return sha256(b'\x01' + left + right)


def genesis_hash(log_id):
    return sha256(b'\x02' + GENESIS_LABEL + b'\x00' + log_id.encode('ascii'))


def mth(leaves):
    """RFC 6962 Merkle Tree Hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha256(b'')
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


class Frontier:
    """Roots of the perfect subtrees of the tree of the leaves appended so far, largest first (§10.3)."""

    def __init__(self, size=0, hashes=()):
        self.size = size
        self.stack = list(hashes)

    def append(self, h):
        self.stack.append(h)
        self.size += 1
        n = self.size
        while n % 2 == 0:  # one merge per trailing zero bit of the new size
            right = self.stack.pop()
            left = self.stack.pop()
            self.stack.append(node_hash(left, right))
            n //= 2

    def root(self):
        return fold_frontier(self.stack)


def fold_frontier(hashes):
    if not hashes:
        return sha256(b'')
    r = hashes[-1]
    for h in reversed(hashes[:-1]):
        r = node_hash(h, r)
    return r


# ----------------------------------------------------------------------------------------------------------------
# Keys and signed notes (§10.1, §10.2)

def key_id(name, pub):
    return sha256(name.encode('utf-8') + b'\n\x01' + pub)[:4]


def valid_key_name(name):
    return bool(name) and '+' not in name and not any(c.isspace() for c in name)


def b64decode_strict(s):
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode('ascii') != s:
        raise ValueError('non-canonical base64')
    return raw


class VerifierKey:
    def __init__(self, text):
        text = text.strip('\n')
        parts = text.split('+', 2)  # the base64 may itself contain '+'
        if len(parts) != 3 or not valid_key_name(parts[0]) or not re.fullmatch(r'[0-9a-f]{8}', parts[1]):
            raise ValueError('not a verifier key string <name>+<8 hex>+<base64>')
        try:
            raw = b64decode_strict(parts[2])
        except ValueError as e:
            raise ValueError('bad base64 in verifier key: %s' % e)
        if len(raw) != 33 or raw[0] != 1:
            raise ValueError('verifier key is not 0x01 || 32-byte Ed25519 public key')
        self.name = parts[0]
        self.pub = raw[1:]
        self.id = key_id(self.name, self.pub)
        if self.id.hex() != parts[1]:
            raise ValueError('key ID %s does not match the key (%s)' % (parts[1], self.id.hex()))
        self.text = text
        self.short = '%s+%s' % (self.name, self.id.hex())


class Ed25519:
    def __init__(self, openssl):
        self.openssl = openssl
        self.cache = {}
        self.tmp = None

    def verify(self, pub, msg, sig):
        k = (pub, msg, sig)
        if k in self.cache:
            return self.cache[k]
        if len(sig) != 64:
            self.cache[k] = False
            return False
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix='verify_log.')
        d = self.tmp.name
        pem = ('-----BEGIN PUBLIC KEY-----\n' + base64.b64encode(ED25519_SPKI_PREFIX + pub).decode('ascii')
               + '\n-----END PUBLIC KEY-----\n')
        paths = {n: os.path.join(d, n) for n in ('pub.pem', 'msg', 'sig')}
        for n, data in (('pub.pem', pem.encode('ascii')), ('msg', msg), ('sig', sig)):
            with open(paths[n], 'wb') as f:
                f.write(data)
        try:
            p = subprocess.run([self.openssl, 'pkeyutl', '-verify', '-pubin', '-inkey', paths['pub.pem'], '-rawin',
                                '-in', paths['msg'], '-sigfile', paths['sig']],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise UsageError('cannot run %s: %s' % (self.openssl, e))
        out = p.stdout.decode('utf-8', 'replace')
        if p.returncode == 0 and 'Verified Successfully' in out:
            ok = True
        elif p.returncode == 1 and 'Verification Failure' in out:
            ok = False
        else:
            raise UsageError('openssl pkeyutl -verify failed: rc %d: %s %s'
                             % (p.returncode, out.strip(), p.stderr.decode('utf-8', 'replace').strip()))
        self.cache[k] = ok
        return ok


class NoteError(ValueError):
    pass


def parse_note(text):
    """C2SP signed note -> (body text, [(name, key id bytes, signature bytes)])."""
    if not isinstance(text, str) or not text.endswith('\n'):
        raise NoteError('a note ends with LF')
    i = text.find('\n\n')
    if i < 0:
        raise NoteError('no empty line between the text and the signatures')
    body, sig_block = text[:i + 1], text[i + 2:]
    sigs = []
    for line in sig_block[:-1].split('\n') if sig_block else []:
        m = SIG_LINE_RE.fullmatch(line)
        if not m:
            raise NoteError('malformed signature line %r' % line)
        try:
            raw = b64decode_strict(m.group(2))
        except ValueError as e:
            raise NoteError('signature line base64: %s' % e)
        if len(raw) < 5:
            raise NoteError('signature shorter than key ID + 1 byte')
        sigs.append((m.group(1), raw[:4], raw[4:]))
    if not sigs:
        raise NoteError('note without signature')
    return body, sigs


def parse_checkpoint_body(body):
    """-> (origin, size, root bytes); extension lines are ignored (§10.2)."""
    lines = body.split('\n')[:-1]
    if len(lines) < 3:
        raise NoteError('checkpoint body has fewer than 3 lines')
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not origin:
        raise NoteError('empty origin')
    if not DECIMAL_RE.fullmatch(size_s) or int(size_s) > SAFE_INT:
        raise NoteError('tree size %r is not a decimal' % size_s)
    try:
        root = b64decode_strict(root_s)
    except ValueError as e:
        raise NoteError('root: %s' % e)
    if len(root) != 32:
        raise NoteError('root is not 32 bytes')
    return origin, int(size_s), root


def split_origin(origin, log_id):
    """Origin must be <key name>/<log_id> (§10.2); returns the key name or None."""
    suffix = '/' + log_id
    if not origin.endswith(suffix):
        return None
    name = origin[:-len(suffix)]
    return name if valid_key_name(name) else None


# ----------------------------------------------------------------------------------------------------------------
# MAC keys (§9.1, §10.6)

class MacKey:
    def __init__(self, path):
        try:
            st = os.stat(path)
            with open(path, 'rb') as f:
                data = f.read()
        except OSError as e:
            raise UsageError('cannot read MAC key %s: %s' % (path, e))
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UsageError('MAC key %s has group or other permissions (mode %o); refused (§10.6)'
                             % (path, stat.S_IMODE(st.st_mode)))
        self.state_log_id = None
        if data.startswith(SEED_PREFIX):
            m = re.fullmatch(rb'fooocus-audit-mac-seed-v1 ([0-9a-f]{64})\n?', data)
            if not m:
                raise UsageError('MAC key %s: malformed seed file' % path)
            self.seed = bytes.fromhex(m.group(1).decode('ascii'))
            self.base_epoch = 0
            self.base_key = None
        elif len(data) == 256:
            best = None
            for off in (0, 128):
                slot = data[off:off + 128]
                if (slot[0:8] == b'FAMACST1' and slot[64:96] == bytes(32)
                        and sha256(slot[0:96]) == slot[96:128]):
                    epoch = int.from_bytes(slot[8:16], 'big')
                    if best is None or epoch > best[0]:
                        best = (epoch, slot[16:32].hex(), slot[32:64])
            if best is None:
                raise UsageError('MAC key %s: no valid slot in the state file' % path)
            self.seed = None
            self.base_epoch, self.state_log_id, self.base_key = best
        else:
            raise UsageError('MAC key %s is neither a seed file nor a writer state file' % path)
        self.log_id = None
        self.keys = {}  # epoch -> K_epoch
        self.record_keys = {}

    def bind(self, log_id):
        if self.state_log_id is not None and self.state_log_id != log_id:
            raise UsageError('the MAC state file belongs to log %s, not %s' % (self.state_log_id, log_id))
        self.log_id = log_id
        if self.seed is not None:
            self.keys = {0: hmac.new(self.seed, MAC_INIT + b'\x00' + log_id.encode('ascii'), 'sha256').digest()}
        else:
            self.keys = {self.base_epoch: self.base_key}

    def record_key(self, epoch):
        """M_epoch, or None when the key is not derivable (before a state file's epoch, or absurdly far)."""
        if epoch in self.record_keys:
            return self.record_keys[epoch]
        if epoch < self.base_epoch:
            return None
        top = max(e for e in self.keys if e <= epoch)
        if epoch - top > 10_000_000:
            return None
        k = self.keys[top]
        for e in range(top + 1, epoch + 1):
            k = hmac.new(k, MAC_EVOLVE, 'sha256').digest()
        self.keys[epoch] = k
        m = hmac.new(k, MAC_RECORD, 'sha256').digest()
        self.record_keys[epoch] = m
        return m


# ----------------------------------------------------------------------------------------------------------------
# Anchors (§5.2)

def read_anchor_file(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise UsageError('cannot read anchor file %s: %s' % (path, e))
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    anchors = []
    for i, line in enumerate(lines, 1):
        where = '%s line %d' % (path, i)
        try:
            a = parse_ijson(line)
        except JsonError as e:
            raise UsageError('%s: not JSON: %s' % (where, e))
        if not isinstance(a, dict) or jcs(a) != line:
            raise UsageError('%s: not a canonical JSON object' % where)
        if a.get('v') != 1 or isinstance(a.get('v'), bool):
            raise UsageError('%s: anchor version is not 1' % where)
        if set(a) == {'head', 'log_id', 'seq', 'ts', 'v'}:
            if not (isinstance(a['head'], str) and HEX64_RE.fullmatch(a['head'])
                    and isinstance(a['log_id'], str) and HEX32_RE.fullmatch(a['log_id'])
                    and type(a['seq']) is int and a['seq'] >= 0 and isinstance(a['ts'], str)):
                raise UsageError('%s: malformed head anchor' % where)
            a['_kind'] = 'head'
        elif set(a) == {'checkpoint', 'log_id', 'v'}:
            if not (isinstance(a['checkpoint'], str) and isinstance(a['log_id'], str)
                    and HEX32_RE.fullmatch(a['log_id'])):
                raise UsageError('%s: malformed checkpoint anchor' % where)
            a['_kind'] = 'checkpoint'
        else:
            raise UsageError('%s: neither a head anchor nor a checkpoint anchor' % where)
        a['_where'] = where
        a['_index'] = len(anchors) + 1
        anchors.append(a)
    return anchors


# ----------------------------------------------------------------------------------------------------------------
# Record checks (§2.2, §4, §10.3)

def days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def valid_ts(ts):
    m = TS_RE.fullmatch(ts)
    if not m:
        return False
    y, mo, d, h, mi, s = (int(x) for x in m.groups())
    return 1 <= mo <= 12 and 1 <= d <= days_in_month(y, mo) and h <= 23 and mi <= 59 and s <= 59


def is_int(x):
    return type(x) is int


def record_problem(rec):
    """§2.2 members, types and formats; None when fine (step 4)."""
    required = {'v', 'log_id', 'seq', 'ts', 'prev', 'event'}
    missing = required - set(rec)
    if missing:
        return 'missing member(s) %s' % ', '.join(sorted(missing))
    extra = set(rec) - required - {'mac'}
    if extra:
        return 'unknown member(s) %s' % ', '.join(sorted(extra))
    if not is_int(rec['v']):
        return 'v is not an integer'
    if not isinstance(rec['log_id'], str) or not HEX32_RE.fullmatch(rec['log_id']):
        return 'log_id is not 32 lowercase hex'
    if not is_int(rec['seq']) or rec['seq'] < 0:
        return 'seq is not a non-negative integer'
    if not isinstance(rec['ts'], str) or not valid_ts(rec['ts']):
        return 'ts is not YYYY-MM-DDTHH:MM:SS.ffffffZ with a valid date and time'
    if not isinstance(rec['prev'], str) or not HEX64_RE.fullmatch(rec['prev']):
        return 'prev is not 64 lowercase hex'
    ev = rec['event']
    if not isinstance(ev, dict):
        return 'event is not an object'
    # ASSUMPTION: step 4 ("members of §2.2 with the right types and formats") includes §4's event_type rule.
    et = ev.get('event_type')
    if not isinstance(et, str) or not EVENT_TYPE_RE.fullmatch(et):
        return 'event.event_type is missing or not [a-z][a-z0-9_.-]{0,127}'
    if 'mac' in rec:
        mac = rec['mac']
        if not isinstance(mac, dict) or set(mac) != {'epoch', 'tag'}:
            return 'mac is not {"epoch":..,"tag":..}'
        if not is_int(mac['epoch']) or mac['epoch'] < 0:
            return 'mac.epoch is not a non-negative integer'
        if not isinstance(mac['tag'], str) or not HEX64_RE.fullmatch(mac['tag']):
            return 'mac.tag is not 64 lowercase hex'
    return None


def checkpoint_problem(ev):
    # ASSUMPTION: "members as in §10.3" = exactly event_type, size, root, frontier and optional note.
    allowed = {'event_type', 'size', 'root', 'frontier', 'note'}
    extra = set(ev) - allowed
    if extra:
        return 'unknown member(s) %s' % ', '.join(sorted(extra))
    for k in ('size', 'root', 'frontier'):
        if k not in ev:
            return 'missing member %s' % k
    if not is_int(ev['size']) or ev['size'] < 0:
        return 'size is not a non-negative integer'
    if not isinstance(ev['root'], str) or not HEX64_RE.fullmatch(ev['root']):
        return 'root is not 64 lowercase hex'
    fr = ev['frontier']
    if not isinstance(fr, list) or not all(isinstance(h, str) and HEX64_RE.fullmatch(h) for h in fr):
        return 'frontier is not an array of 64-hex strings'
    if 'note' in ev and not isinstance(ev['note'], str):
        return 'note is not a string'
    return None


# ----------------------------------------------------------------------------------------------------------------
# The verifier (§8)

class Finding:
    def __init__(self, reason, seq, segment, offset, detail, inferred=False, count=1):
        self.reason, self.seq, self.segment, self.offset = reason, seq, segment, offset
        self.detail, self.inferred, self.count = detail, inferred, count
        self.dropped = False

    def as_dict(self):
        return {'reason': self.reason, 'seq': self.seq, 'seq_inferred': self.inferred, 'count': self.count,
                'segment': self.segment, 'offset': self.offset, 'detail': self.detail}

    def line(self):
        seq = '?' if self.seq is None else ('%d?' % self.seq if self.inferred else str(self.seq))
        cnt = ' (x%d)' % self.count if self.count > 1 else ''
        return '%-22s seq %-10s %s @ byte %d: %s%s' % (self.reason, seq, self.segment, self.offset, self.detail, cnt)


class Line:
    __slots__ = ('segment', 'seg_index', 'seg_seq', 'first_in_segment', 'offset', 'data', 'terminated',
                 'rec', 'hash', 'reported', 'problem')


class Gap:
    def __init__(self, lo, hi, finding):
        self.lo, self.hi, self.finding = lo, hi, finding
        self.filled = False


class Verifier:
    def __init__(self, keys, mac_key, anchors, ed):
        self.keys = keys          # list of VerifierKey
        self.mac_key = mac_key    # MacKey or None
        self.anchors = anchors
        # ASSUMPTION: §5.2 says a verifier checks every anchor; docs/cli.md says of head anchors "the one with the
        # highest seq is used", and the bundled verifier ignores the others. Done like the CLI.
        heads = [a for a in anchors if a['_kind'] == 'head']
        self.head_anchor = max(heads, key=lambda a: a['seq']) if heads else None
        if self.head_anchor is not None:
            self.head_anchor['_done'] = False
        self.ed = ed
        self.findings = []
        self.stats = {'records': 0, 'lines': 0, 'bytes': 0, 'segments': 0, 'macs_checked': 0,
                      'macs_unchecked': 0, 'checkpoints': 0, 'checkpoints_verified': 0,
                      'checkpoints_sig_unchecked': 0, 'checkpoints_unsigned': 0, 'checkpoint_roots_unchecked': 0,
                      'checkpoint_anchors_checked': 0, 'checkpoint_anchors_unchecked': 0,
                      'head_anchors_checked': 0}

    # -- input (§5.1, §8.1) --

    def read(self, path):
        if os.path.isdir(path):
            try:
                names = sorted(n for n in os.listdir(path) if SEGMENT_RE.fullmatch(n))
            except OSError as e:
                raise UsageError('cannot list %s: %s' % (path, e))
            files = [(n, os.path.join(path, n)) for n in names]
            self.start = 0
        elif os.path.isfile(path):
            n = os.path.basename(path)
            m = SEGMENT_RE.fullmatch(n)
            files = [(n, path)]
            self.start = int(m.group(1)) if m else 0
        else:
            raise UsageError('%s: no such log directory or segment file' % path)
        self.partial = self.start != 0
        lines = []
        for si, (name, p) in enumerate(files):
            try:
                with open(p, 'rb') as f:
                    data = f.read()
            except OSError as e:
                raise UsageError('cannot read %s: %s' % (p, e))
            self.stats['segments'] += 1
            self.stats['bytes'] += len(data)
            m = SEGMENT_RE.fullmatch(name)
            seg_seq = int(m.group(1)) if m else None
            pos = 0
            first = True
            while pos < len(data):
                nl = data.find(b'\n', pos)
                ln = Line()
                ln.segment, ln.seg_index, ln.seg_seq, ln.first_in_segment = name, si, seg_seq, first
                ln.offset = pos
                if nl < 0:
                    ln.data, ln.terminated, pos = data[pos:], False, len(data)
                else:
                    ln.data, ln.terminated, pos = data[pos:nl], True, nl + 1
                ln.rec = ln.hash = ln.problem = None
                ln.reported = False
                lines.append(ln)
                first = False
            # ASSUMPTION: §5.1 says every segment but the newest holds a record, but §8.2 names no reason
            # code for an empty older segment; it is not reported here.
        self.lines = lines
        self.end_segment = files[-1][0] if files else ''
        self.end_offset = len(data) if files else 0

    # -- steps 1-5 --

    def parse_line(self, ln):
        if not ln.terminated:
            return 'torn_record', 'the final %d byte(s) of the segment lack LF' % len(ln.data)
        if len(ln.data) > MAX_RECORD_BYTES:
            return 'record_too_large', 'line of %d bytes exceeds 16 MiB' % len(ln.data)
        try:
            rec = parse_ijson(ln.data)
        except JsonError as e:
            return 'bad_json', str(e)
        if not isinstance(rec, dict):
            return 'bad_json', 'not a JSON object'
        if jcs(rec) != ln.data:
            return 'non_canonical', 'the bytes are not the RFC 8785 (JCS) form of the value'
        problem = record_problem(rec)
        if problem:
            return 'bad_record', problem
        if rec['v'] != 1:
            return 'unknown_version', 'v is %d' % rec['v']
        ln.rec = rec
        ln.hash = leaf_hash(ln.data)
        return None

    def add(self, reason, seq, ln, detail, inferred=False, count=1):
        f = Finding(reason, seq, ln.segment if ln else self.end_segment, ln.offset if ln else self.end_offset,
                    detail, inferred, count)
        self.findings.append(f)
        return f

    def run(self):
        lines = self.lines
        self.stats['lines'] = len(lines)
        readable = []
        for i, ln in enumerate(lines):
            err = self.parse_line(ln)
            if err:
                ln.problem = err
            else:
                readable.append(i)
        self.successor = {}
        for a, b in zip(readable, readable[1:]):
            self.successor[a] = b

        self.log_id = None
        self.expected = self.start
        self.seen = {}                 # seq -> chain hash (first copy read)
        self.gaps = []                 # open Gap objects
        self.unreadable_run = 0
        self.last = None               # previous readable Line in read order
        self.max_seq = None
        # Merkle tree (§3, §10.3): frontier of records start..N-1 while they arrive contiguous and readable
        self.tree = Frontier() if self.start == 0 else None
        self.tree_from_zero = self.start == 0
        self.tree_started = self.start == 0
        # MACs (§9, step 10)
        self.uses_macs = self.mac_key is not None
        self.mac_epoch = None
        self.mac_after_end = False
        self.mac_discontinuity = False
        self.mac_run = None            # (reason, Finding, index of last Line in the run)
        self.deferred = []
        self.anchor_by_size = {}
        self.mac_epochs = [None, None]
        # Checkpoint signatures (§10.5)
        self.current_key = None
        self.used_keys = set()
        self.last_signed_checkpoint = None

        for i, ln in enumerate(lines):
            if ln.problem:
                self.unreadable(i, ln)
            else:
                self.record(i, ln)
        # the link into the last record is judged after the last line (an anchor may confirm the record)
        self.findings.extend(self.deferred)
        # gaps filled later were reported as sequence_reorder instead (step 7)
        for g in self.gaps:
            if g.filled:
                g.finding.dropped = True
        self.findings = [f for f in self.findings if not f.dropped]
        self.check_anchors()
        # ASSUMPTION: §8.2 does not define the order of findings; like the bundled verifier, they are listed by seq
        # (stable: for one seq, in the order of the checks), findings without a seq last.
        self.findings.sort(key=lambda f: (f.seq is None, f.seq or 0))
        return self.findings

    def unreadable(self, i, ln):
        reason, detail = ln.problem
        self.unreadable_run += 1
        base = self.last.rec['seq'] if self.last is not None else self.start - 1
        seq = base + self.unreadable_run
        self.add(reason, seq, ln, detail, inferred=True)
        self.mac_discontinuity = True
        self.mac_run = None
        self.tree = None  # the leaves are no longer known to be those of records 0..N-1
        self.tree_from_zero = False

    def record(self, i, ln):
        rec = ln.rec
        seq = rec['seq']
        self.stats['records'] += 1
        # step 6
        if self.log_id is None:
            self.log_id = rec['log_id']
            if self.mac_key is not None:
                self.mac_key.bind(self.log_id)
            if 'mac' in rec:
                self.uses_macs = True
            self.prepare_checkpoint_anchors()
        elif rec['log_id'] != self.log_id:
            self.add('log_id_mismatch', seq, ln, 'log_id %s, the log is %s' % (rec['log_id'], self.log_id))
            ln.reported = True
        # step 7
        if ln.first_in_segment and ln.seg_seq is not None and seq != ln.seg_seq:
            self.add('segment_name_mismatch', seq, ln,
                     'the first record of %s has seq %d, its name says %d' % (ln.segment, seq, ln.seg_seq))
        exp = self.expected
        contiguous = False
        if seq == exp or (self.unreadable_run and exp < seq <= exp + self.unreadable_run):
            contiguous = seq == exp
            self.expected = seq + 1
        elif seq > exp:
            missing = seq - exp
            if ln.first_in_segment and ln.seg_seq == seq:
                f = self.add('missing_segment', exp, ln, '%d record(s) (seq %d..%d) missing: whole segment file(s) '
                             'absent before %s' % (missing, exp, seq - 1, ln.segment), count=missing)
            else:
                f = self.add('sequence_gap', exp, ln, '%d record(s) missing (seq %d..%d)' % (missing, exp, seq - 1),
                             count=missing)
            self.gaps.append(Gap(exp, seq - 1, f))
            if len([g for g in self.gaps if not g.filled]) > MAX_OPEN_GAPS:
                self.gaps = [g for g in self.gaps if not g.filled][1:]
            self.expected = seq + 1
        elif seq in self.seen:
            self.add('sequence_duplicate', seq, ln, 'record %d was already read' % seq)
            ln.reported = True
        else:
            gap = next((g for g in self.gaps if g.lo <= seq <= g.hi), None)
            if gap is None:
                self.add('sequence_reorder', seq, ln, 'record %d arrives after record %s' % (seq, self.max_seq))
            elif not gap.filled:
                gap.filled = True
                self.add('sequence_reorder', seq, ln, 'record %d arrives late, after record %s'
                         % (seq, self.max_seq))
            ln.reported = True
        # step 8
        # ASSUMPTION: a record already reported under steps 6-7 (log_id, duplicate, reorder) is not also
        # reported as timestamp_regression (one alteration, one finding), as the bundled verifier does.
        if self.last is not None and not ln.reported and rec['ts'] < self.last.rec['ts']:
            self.add('timestamp_regression', seq, ln, 'ts %s is earlier than %s of the previous record'
                     % (rec['ts'], self.last.rec['ts']))
            ln.reported = True
        # step 9
        self.check_link(i, ln)
        if seq not in self.seen:
            self.seen[seq] = ln.hash
        if self.tree is not None and not (contiguous and seq == self.tree.size):
            self.tree = None
            self.tree_from_zero = False
        # ASSUMPTION on the order of the checks of one record (§8.2 does not define the order of findings; this
        # is the order in which the bundled verifier lists them, and it matters because checkpoint roots are not
        # compared after an earlier finding): steps 6-9, MAC presence and epoch (step 10), checkpoint (step 11),
        # the head anchor, and only then the MAC tag (step 10).
        tag = self.check_mac_epoch(i, ln, contiguous)
        et = rec['event']['event_type']
        if et == 'log.checkpoint':
            self.check_checkpoint(i, ln)   # with the tree of the records before this one
        elif et == 'log.key_rotated':
            self.check_key_rotated(ln)
        self.check_head_anchor(ln)
        if tag:
            self.check_mac_tag(i, ln)
        if self.tree is not None:
            self.tree.append(ln.hash)
            self.compare_checkpoint_anchors(ln)
        self.last = ln
        self.max_seq = seq if self.max_seq is None else max(self.max_seq, seq)
        self.unreadable_run = 0

    def check_link(self, i, ln):
        rec = ln.rec
        seq = rec['seq']
        if seq == 0:
            if rec['prev'] != genesis_hash(rec['log_id']).hex():
                self.add('genesis_mismatch', 0, ln, 'prev of record 0 is not the genesis hash of log %s'
                         % rec['log_id'])
                ln.reported = True
            return
        q = self.last
        if q is None or q.rec['seq'] != seq - 1 or q.reported or ln.reported:
            return
        if rec['prev'] == q.hash.hex():
            return
        j = self.successor.get(i)
        s = self.lines[j] if j is not None else None
        if s is None:
            # ASSUMPTION: judged after the last line, so listed after the record's own MAC finding
            n = len(self.findings)
            self.link_finding(q, ln, None)
            self.deferred.extend(self.findings[n:])
            del self.findings[n:]
            return
        self.link_finding(q, ln, s)

    def link_finding(self, q, ln, s):
        seq = ln.rec['seq']
        if s is not None and s.rec['seq'] == seq + 1 and s.rec['prev'] == ln.hash.hex():
            self.add('hash_mismatch', q.rec['seq'], q, 'record %d does not match the hash that record %d commits '
                     'to (record %d was altered)' % (q.rec['seq'], seq, q.rec['seq']))
        elif s is None and self.head_anchor_confirms(ln):
            self.add('hash_mismatch', q.rec['seq'], q, 'record %d does not match the hash that record %d (confirmed '
                     'by a head anchor) commits to' % (q.rec['seq'], seq))
        else:
            # ASSUMPTION: a record reported as broken_link is "already reported": the link out of it (which its
            # alteration necessarily breaks too) is not reported again.
            self.add('broken_link', seq, ln, 'prev of record %d is not the chain hash of record %d'
                     % (seq, seq - 1))
            ln.reported = True

    def head_anchor_confirms(self, ln):
        a = self.head_anchor
        return (a is not None and a['log_id'] == ln.rec['log_id'] and a['seq'] == ln.rec['seq']
                and a['head'] == ln.hash.hex())

    # -- step 10 --

    def mac_finding(self, reason, i, ln, detail):
        run = self.mac_run
        if run is not None and run[0] == reason and run[2] == i - 1:
            run[1].count += 1
            self.mac_run = (reason, run[1], i)
            return
        f = self.add(reason, ln.rec['seq'], ln, detail)
        self.mac_run = (reason, f, i)

    def check_mac_epoch(self, i, ln, contiguous):
        """Step 10, first part: presence and epoch. Returns True when the tag is to be checked."""
        rec = ln.rec
        seq = rec['seq']
        if not self.uses_macs:
            return False
        if 'mac' not in rec:
            self.mac_finding('mac_missing', i, ln, 'record %d carries no MAC in a log that uses MACs' % seq)
            return False
        epoch = rec['mac']['epoch']
        ev = rec['event']
        problem = None
        if self.mac_epoch is None:
            if seq == 0 and epoch != 0:
                problem = 'record 0 has epoch %d, not 0' % epoch
        else:
            want = self.mac_epoch + (1 if self.mac_after_end else 0)
            if contiguous and not self.mac_discontinuity:
                # After a re-sealed record, the next may follow the epoch that record should have had (or its
                # successor): one alteration, one finding (log-format.md section 8.2 step 10).
                alt = getattr(self, 'mac_alt', None)
                if epoch != want and not (alt is not None and epoch in (alt, alt + 1)):
                    problem = 'epoch %d, expected %d' % (epoch, want)
            elif epoch < self.mac_epoch:
                problem = 'epoch %d shrinks from %d across a gap or an unreadable line' % (epoch, self.mac_epoch)
        if problem is None and epoch > seq:
            problem = 'epoch %d exceeds seq %d' % (epoch, seq)
        if problem is None and ev['event_type'] == 'log.epoch_end' and ev.get('epoch') != epoch:
            problem = 'log.epoch_end names epoch %r, its MAC epoch is %d' % (ev.get('epoch'), epoch)
        prior_alt = getattr(self, 'mac_alt', None)
        self.mac_alt = want if (problem and self.mac_epoch is not None and prior_alt is None) else None
        if problem:
            self.add('mac_epoch', seq, ln, problem)
        self.mac_epoch = epoch
        self.mac_after_end = ev['event_type'] == 'log.epoch_end'
        self.mac_discontinuity = False
        lo, hi = self.mac_epochs
        self.mac_epochs = [epoch if lo is None else min(lo, epoch), epoch if hi is None else max(hi, epoch)]
        if problem:
            # ASSUMPTION: a record with a mac_epoch finding gets no mac_invalid finding as well (its tag is not
            # checked), as in the bundled verifier.
            self.stats['macs_unchecked'] += 1
            self.mac_run = None
            return False
        return True

    def check_mac_tag(self, i, ln):
        """Step 10, second part: the tag."""
        rec = ln.rec
        seq = rec['seq']
        epoch = rec['mac']['epoch']
        if self.mac_key is None:
            self.stats['macs_unchecked'] += 1
            self.mac_run = None
            return
        m = self.mac_key.record_key(epoch) if epoch <= seq else None
        if m is None:
            self.stats['macs_unchecked'] += 1
            self.mac_run = None
            return
        u = dict(rec)
        del u['mac']
        want_tag = hmac.new(m, sha256(b'\x00' + jcs(u)), 'sha256').digest()
        if not hmac.compare_digest(want_tag, bytes.fromhex(rec['mac']['tag'])):
            self.mac_finding('mac_invalid', i, ln, 'the MAC of record %d does not verify' % seq)
            return
        self.stats['macs_checked'] += 1
        self.mac_run = None

    # -- step 11 --

    def signatures(self, body, sigs):
        """-> (trusted keys with a valid signature, trusted keys with an invalid one); others are ignored (C2SP)."""
        by_id = {(k.name, k.id): k for k in self.keys}
        valid, invalid = [], []
        for name, kid, sig in sigs:
            k = by_id.get((name, kid))
            if k is not None:
                (valid if self.ed.verify(k.pub, body.encode('utf-8'), sig) else invalid).append(k)
        return valid, invalid

    def signature_problem(self, body, sigs, origin_name, current=None):
        """Problem with the note's signatures, or None. `current` is the log's current key as (name, key ID), or
        None to accept any trusted key (anchors)."""
        valid, invalid = self.signatures(body, sigs)
        if invalid:
            return 'invalid signature by trusted key %s' % invalid[0].short
        if not valid:
            return 'no valid signature by a trusted key'
        if current is None:
            key = next((k for k in valid if k.name == origin_name), valid[0])
        else:
            key = next((k for k in valid if (k.name, k.id) == current), None)
            if key is None:
                return 'not signed by the log\'s current key %s+%s (signed by %s)' % (
                    current[0], current[1].hex(), ', '.join(k.short for k in valid))
        if key.name != origin_name:
            # ASSUMPTION: an origin naming another key than the signer is checkpoint_signature (§10.5), the body
            # itself being well formed (<valid key name>/<log_id>).
            return 'origin names key %r, the note is signed by %s' % (origin_name, key.short)
        return None

    def check_checkpoint(self, i, ln):
        rec = ln.rec
        seq = rec['seq']
        ev = rec['event']
        self.stats['checkpoints'] += 1
        problem = checkpoint_problem(ev)
        if problem:
            self.add('checkpoint_invalid', seq, ln, problem)
            return
        size = ev['size']
        if size < seq:
            self.add('checkpoint_replayed', seq, ln, 'checkpoint of size %d in record %d' % (size, seq))
            return
        if size > seq:
            self.add('checkpoint_invalid', seq, ln, 'checkpoint of size %d in record %d' % (size, seq))
            return
        if len(ev['frontier']) != bin(size).count('1'):
            self.add('checkpoint_invalid', seq, ln, 'frontier has %d hashes, size %d needs %d'
                     % (len(ev['frontier']), size, bin(size).count('1')))
            return
        # the tree of records 0..size-1, i.e. before this record
        if self.tree is not None and self.tree.size == size:
            if self.findings:
                # ASSUMPTION (not in §8.2 step 11): once any finding was reported (MAC findings included) the roots
                # are no longer compared, only counted; the bundled verifier says "NOT compared ... damage reported
                # earlier". The spec's wording would report every later checkpoint as checkpoint_invalid.
                self.stats['checkpoint_roots_unchecked'] += 1
            else:
                want_root = self.tree.root().hex()
                if ev['root'] != want_root:
                    self.add('checkpoint_invalid', seq, ln, 'root %s, records 0..%d have %s'
                             % (ev['root'], size - 1, want_root))
                    return
                if ev['frontier'] != [h.hex() for h in self.tree.stack]:
                    self.add('checkpoint_invalid', seq, ln, 'frontier differs from the records\' subtree roots')
                    return
        elif self.tree is None and self.start != 0 and not self.tree_started and 'note' in ev \
                and fold_frontier([bytes.fromhex(h) for h in ev['frontier']]).hex() == ev['root']:
            # partial log (§8.2 step 11): start the tree at the first signed checkpoint whose frontier hashes to
            # its root; this record's leaf is appended by the caller.
            self.tree = Frontier(size, [bytes.fromhex(h) for h in ev['frontier']])
            self.tree_started = True
        else:
            self.stats['checkpoint_roots_unchecked'] += 1
        if 'note' not in ev:
            self.stats['checkpoints_unsigned'] += 1
            return
        try:
            body, sigs = parse_note(ev['note'])
            origin, nsize, nroot = parse_checkpoint_body(body)
        except NoteError as e:
            self.add('checkpoint_invalid', seq, ln, 'note: %s' % e)
            return
        origin_name = split_origin(origin, rec['log_id'])
        if origin_name is None or nsize != size or nroot.hex() != ev['root']:
            self.add('checkpoint_invalid', seq, ln, 'the note is not the checkpoint body of (<key name>/%s, %d, %s)'
                     % (rec['log_id'], size, ev['root']))
            return
        if self.current_key is None:
            # ASSUMPTION: "the key of its first signed checkpoint" is the key that signature names, trusted or not
            # (a trusted valid signer if there is one, else the first signature line); without trusted keys it
            # is still tracked, for the log.key_rotated rules. This is what the bundled verifier does.
            valid = self.signatures(body, sigs)[0] if self.keys else []
            k = next((k for k in valid if k.name == origin_name), valid[0] if valid else None)
            self.current_key = (k.name, k.id) if k else (sigs[0][0], sigs[0][1])
            self.used_keys.add(self.current_key)
        if not self.keys:
            self.stats['checkpoints_sig_unchecked'] += 1
            return
        problem = self.signature_problem(body, sigs, origin_name, self.current_key)
        if problem:
            self.add('checkpoint_signature', seq, ln, problem)
            return
        self.stats['checkpoints_verified'] += 1
        self.last_signed_checkpoint = seq

    def check_key_rotated(self, ln):
        """§10.5. ASSUMPTION: without trusted keys the rules that need no key (old_key is the current key, new_key
        was never used) are still applied, as the bundled verifier does; "new_key is trusted" needs --key."""
        ev = ln.rec['event']
        old, new = ev.get('old_key'), ev.get('new_key')
        trusted = {k.text: k for k in self.keys}
        parts = new.split('+', 2) if isinstance(new, str) else []
        new_id = None
        if len(parts) == 3 and re.fullmatch(r'[0-9a-f]{8}', parts[1]):
            new_id = (parts[0], bytes.fromhex(parts[1]))
        cur = self.current_key
        problem = None
        if cur is None:
            problem = 'no signed checkpoint precedes it: the log has no current key'
        elif old != '%s+%s' % (cur[0], cur[1].hex()):
            problem = 'old_key %r is not the current key %s+%s' % (old, cur[0], cur[1].hex())
        elif new_id is None:
            problem = 'new_key %r is not a verifier key string' % (new,)
        elif self.keys and new not in trusted:
            problem = 'new_key %r is not a trusted key' % (new,)
        elif new_id in self.used_keys:
            problem = 'new_key %s+%s was used by this log before' % (new_id[0], new_id[1].hex())
        if problem:
            self.add('checkpoint_signature', ln.rec['seq'], ln, 'log.key_rotated: %s' % problem)
            return
        self.current_key = new_id
        self.used_keys.add(new_id)

    # -- anchors (§5.2, §8.2 end) --

    def check_anchors(self):
        """After the last line (§8.2). The head anchor's record was compared inline (check_head_anchor)."""
        if not self.anchors:
            return
        last_seq = self.max_seq
        if self.log_id is None:
            # "An empty log is intact only without anchors": one truncated_tail per anchor
            for a in self.anchors:
                covered = a['seq'] + 1 if a['_kind'] == 'head' else self.anchor_size(a)
                self.add('truncated_tail', self.start, None, 'the log is empty, but %s covers %s record(s)'
                         % (a['_where'], covered), count=covered or 1)
            return
        h = self.head_anchor
        if h is not None:
            self.stats['head_anchors_checked'] += 1
            if h['log_id'] != self.log_id:
                self.add('anchor_mismatch', h['seq'], None, '%s: head anchor of log %s, the log is %s'
                         % (h['_where'], h['log_id'], self.log_id))
            elif h['seq'] > last_seq:
                self.add('truncated_tail', last_seq + 1, None, 'the log ends at seq %d, the head anchor (%s) is at '
                         'seq %d: %d record(s) removed from the end' % (last_seq, h['_where'], h['seq'],
                                                                         h['seq'] - last_seq),
                         count=h['seq'] - last_seq)
        for a in self.anchors:
            if a['_kind'] != 'checkpoint':
                continue
            if a['_problem']:
                self.add(*a['_problem'])
            elif a['_done']:
                continue
            elif self.start == 0 and a['_size'] > 0 and a['_size'] - 1 > last_seq:
                missing = a['_size'] - 1 - last_seq
                self.add('truncated_tail', last_seq + 1, None, 'the log ends at seq %d, but checkpoint anchor %d '
                         'covers %d records: %d removed from the end' % (last_seq, a['_index'], a['_size'], missing),
                         count=missing)
            else:
                # ASSUMPTION: a log with a hole (or an unreadable line) before `size` is not reported as
                # truncated_tail, though §8.2 says "the log must contain records 0 … size-1 (else truncated_tail)":
                # the hole itself was reported under steps 1-7. A log read from a later start (one segment file)
                # is not necessarily the tail: anchors beyond it are not compared either.
                self.stats['checkpoint_anchors_unchecked'] += 1

    def prepare_checkpoint_anchors(self):
        """At the first record (log_id known): parse and authenticate the checkpoint anchors. Their roots are then
        compared when the tree reaches their size (compare_checkpoint_anchors); problems are reported at the end."""
        self.anchor_by_size = {}
        for a in self.anchors:
            if a['_kind'] != 'checkpoint':
                continue
            a['_problem'], a['_done'] = None, False
            try:
                body, sigs = parse_note(a['checkpoint'])
                origin, size, root = parse_checkpoint_body(body)
            except NoteError as e:
                a['_problem'] = ('anchor_mismatch', None, None, '%s: not a checkpoint note: %s' % (a['_where'], e))
                continue
            a['_size'], a['_root'] = size, root
            origin_name = split_origin(origin, self.log_id)
            if a['log_id'] != self.log_id or origin_name is None:
                a['_problem'] = ('anchor_mismatch', max(size - 1, 0), None, '%s: the checkpoint of %s is not of this '
                                 'log %s' % (a['_where'], origin, self.log_id))
                continue
            if self.keys:
                # ASSUMPTION: "checked as in step 11" = a valid signature by a trusted key named in the origin and
                # no invalid trusted signature; the position-dependent current-key rule is not applied.
                problem = self.signature_problem(body, sigs, origin_name)
                if problem:
                    a['_problem'] = ('checkpoint_signature', max(size - 1, 0), None, '%s: %s' % (a['_where'], problem))
                    continue
            self.anchor_by_size.setdefault(size, []).append(a)
        if self.start == 0 and self.tree is not None:
            self.compare_checkpoint_anchors(None)  # size 0

    def compare_checkpoint_anchors(self, ln):
        """The tree just reached a new size: compare the checkpoint anchors of that size (a streaming verifier
        cannot recompute old roots later; the bundled verifier reports these at the record that completes the tree,
        and they count as earlier damage for later checkpoint records)."""
        size = self.tree.size
        for a in self.anchor_by_size.get(size, ()):
            a['_done'] = True
            self.stats['checkpoint_anchors_checked'] += 1
            have = self.tree.root()
            if have != a['_root']:
                self.add('anchor_mismatch', size - 1, ln, 'records %d..%d have Merkle root %s, checkpoint anchor %d '
                         'says %s' % (0, size - 1, have.hex(), a['_index'], a['_root'].hex()))

    @staticmethod
    def anchor_size(a):
        try:
            return parse_checkpoint_body(parse_note(a['checkpoint'])[0])[1]
        except NoteError:
            return 0

    def check_head_anchor(self, ln):
        """The head anchor's record is compared when it is read (the bundled verifier reports it there)."""
        h = self.head_anchor
        if h is None or ln.rec['seq'] != h['seq'] or h['log_id'] != self.log_id or h['_done']:
            return
        h['_done'] = True
        if ln.hash.hex() != h['head']:
            self.add('anchor_mismatch', h['seq'], ln, 'record %d has chain hash %s, the head anchor says %s'
                     % (h['seq'], ln.hash.hex(), h['head']))

    # -- summary (§8.3) --

    def summary(self):
        recs = [ln for ln in self.lines if ln.rec is not None]
        s = dict(self.stats)
        s['intact'] = not self.findings
        s['log_id'] = self.log_id
        s['first_seq'] = recs[0].rec['seq'] if recs else None
        s['last_seq'] = recs[-1].rec['seq'] if recs else None
        s['first_ts'] = recs[0].rec['ts'] if recs else None
        s['last_ts'] = recs[-1].rec['ts'] if recs else None
        s['head'] = recs[-1].hash.hex() if recs else None
        exact = self.tree_from_zero and self.tree is not None and self.tree.size == len(recs)
        s['merkle_root'] = self.tree.root().hex() if exact else None
        s['tree_size'] = self.tree.size if exact else None
        s['uses_macs'] = self.uses_macs
        s['mac_first_epoch'], s['mac_last_epoch'] = self.mac_epochs
        s['last_signed_checkpoint'] = self.last_signed_checkpoint
        s['findings_total'] = len(self.findings)
        s['findings'] = [f.as_dict() for f in self.findings]
        return s


# ----------------------------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description='Independent verifier of fooocus_audit logs (docs/log-format.md).')
    ap.add_argument('log', metavar='LOG_DIR', help='log directory (or one segment file)')
    ap.add_argument('--mac-key', metavar='SEED_FILE', help="the auditor's MAC seed (or a writer state file)")
    ap.add_argument('--key', metavar='VERIFIER_KEY_FILE', action='append', default=[], help='trusted verifier key')
    ap.add_argument('--anchor', metavar='ANCHOR_FILE', action='append', default=[], help='anchor file')
    ap.add_argument('--openssl', default='openssl', help='openssl command (default: openssl)')
    ap.add_argument('--json', action='store_true', help='machine-readable report')
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        keys = []
        for p in args.key:
            try:
                with open(p, 'r', encoding='utf-8') as f:
                    keys.append(VerifierKey(f.read()))
            except (OSError, UnicodeDecodeError) as e:
                raise UsageError('cannot read verifier key %s: %s' % (p, e))
            except ValueError as e:
                raise UsageError('verifier key %s: %s' % (p, e))
        mac_key = MacKey(args.mac_key) if args.mac_key else None
        anchors = []
        for p in args.anchor:
            anchors.extend(read_anchor_file(p))
        ed = Ed25519(args.openssl)
        v = Verifier(keys, mac_key, anchors, ed)
        v.read(args.log)
        findings = v.run()
        summary = v.summary()
    except UsageError as e:
        print('verify_log.py: %s' % e, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=1, sort_keys=True))
    else:
        if findings:
            print('TAMPERED OR DAMAGED: %d finding(s) in %d records, %d segment(s), %d bytes'
                  % (len(findings), summary['records'], summary['segments'], summary['bytes']))
            for f in findings:
                print('  ' + f.line())
        else:
            print('INTACT: %d records (seq %s..%s) in %d segment(s), %d bytes'
                  % (summary['records'], summary['first_seq'], summary['last_seq'], summary['segments'],
                     summary['bytes']))
        print('log_id       %s' % summary['log_id'])
        print('head         %s' % summary['head'])
        print('merkle root  %s (tree size %s)' % (summary['merkle_root'], summary['tree_size']))
        if not summary['uses_macs']:
            macs = 'none in this log'
        elif mac_key is None:
            macs = 'NOT CHECKED: %d record(s) carry MACs; give the seed with --mac-key' % summary['macs_unchecked']
        else:
            macs = 'checked: %d record MACs verified, %d not checkable' % (summary['macs_checked'],
                                                                          summary['macs_unchecked'])
        print('macs         %s' % macs)
        if keys:
            cps = 'checked: %d signed checkpoint(s) verified' % summary['checkpoints_verified']
        else:
            cps = 'NOT CHECKED: %d signed checkpoint(s), no trusted key given' % summary['checkpoints_sig_unchecked']
        print('checkpoints  %s; %d root(s) not compared' % (cps, summary['checkpoint_roots_unchecked']))
        print('anchors      %s' % ('%d checkpoint anchor(s) compared, %d not; %d head anchor(s)'
                                    % (summary['checkpoint_anchors_checked'], summary['checkpoint_anchors_unchecked'],
                                       summary['head_anchors_checked']) if anchors else 'NOT CHECKED: none given'))
    return 1 if findings else 0


if __name__ == '__main__':
    sys.exit(main())
