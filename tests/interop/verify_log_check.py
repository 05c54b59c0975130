#!/usr/bin/env python3
"""ctest driver: the bundled verifier (`fooocus-audit verify`) and the independent tests/interop/verify_log.py
must agree on an intact log and on tampered copies of it.

    verify_log_check.py FOOOCUS_AUDIT [--openssl PATH] [--keep DIR]

Creates keys and a log with MACs, signed checkpoints and an anchor file in a temporary directory (three `append`
sessions, ~300 events, several segments), then runs both verifiers on the intact log and on four tampered copies.
For each case both must say intact / not intact alike and, when not intact, report the same reason code and seq
as their first finding (which must also be the one this script expects). Exit 0 on success, 1 otherwise.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFY_LOG = os.path.join(HERE, 'verify_log.py')
SEGMENT_RE = re.compile(r'segment-[0-9]{20}\.jsonl\Z')
PREV_RE = re.compile(rb'"prev":"([0-9a-f]{64})"')


def run(cmd, stdin=None):
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def must(cmd, stdin=None):
    rc, out, err = run(cmd, stdin)
    if rc != 0:
        sys.exit('FAIL: %s -> exit %d\n%s%s' % (' '.join(cmd), rc, out, err))
    return out


def events(first, count):
    """Events that exercise JCS: non-ASCII and escaped characters, UTF-16 member order, numbers, nesting."""
    out = []
    for i in range(first, first + count):
        ev = {
            'event_type': ['generation.completed', 'generation.started', 'generation.queued', 'acme.model.loaded'][i % 4],
            'request_id': 'req_%05d' % i,
            'prompt': 'caf\u00e9 \u201cquoted\u201d "q" \\ back\nslash\ttab \u2028 \U0001F600 \x01 \x7f #%d' % i,
            'params': {'steps': 20 + i, 'cfg': 7.5 - i / 64, 'seed': (i * 2654435761) % 9007199254740991,
                       'tiny': 1.5e-7 * (i + 1), 'huge': 1e21 * (i + 1), 'neg': -i, 'ratio': i / 3,
                       'flags': [True, False, None], 'empty': {}, 'list': []},
            'keys': {'\uff01': 1, '\U0001F600': 2, 'a': 3, 'B': 4, '\u00e9': 5, '': 6},
        }
        out.append(json.dumps(ev, ensure_ascii=(i % 2 == 0)))
    return ('\n'.join(out) + '\n').encode('utf-8')


def segments(log):
    return sorted(os.path.join(log, n) for n in os.listdir(log) if SEGMENT_RE.fullmatch(n))


def read_lines(log):
    """[(segment path, [line bytes without LF])]"""
    res = []
    for p in segments(log):
        with open(p, 'rb') as f:
            data = f.read()
        assert data == b'' or data.endswith(b'\n'), p
        res.append((p, data.split(b'\n')[:-1] if data else []))
    return res


def write_lines(segs):
    for p, lines in segs:
        with open(p, 'wb') as f:
            f.write(b''.join(l + b'\n' for l in lines))


def chain_hash(line):
    return hashlib.sha256(b'\x00' + line).hexdigest()


def flip_event_byte(line):
    """Changes one digit of the event's request_id: the line stays canonical JSON of a valid record."""
    i = line.index(b'"request_id":"req_') + len(b'"request_id":"req_') + 4
    d = line[i:i + 1]
    assert d.isdigit()
    return line[:i] + bytes([ord('0') + (int(d) + 1) % 10]) + line[i + 1:]


def pick_target(segs):
    """A plain event record near the middle of the log, neither first nor last line of its segment."""
    flat = [(si, li, json.loads(l)) for si, (_, lines) in enumerate(segs) for li, l in enumerate(lines)]
    mid = len(flat) // 2
    for si, li, rec in flat[mid:] + flat[:mid]:
        n = len(segs[si][1])
        if 0 < li < n - 1 and not rec['event']['event_type'].startswith('log.'):
            return si, li, rec['seq']
    sys.exit('FAIL: no suitable target record')


def copy_log(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('LOCK', 'tree', 'quarantine'))
    return read_lines(dst)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cli', help='path of the fooocus-audit executable')
    ap.add_argument('--openssl', default='openssl')
    ap.add_argument('--keep', help='work in this directory (created, kept) instead of a temporary one')
    args = ap.parse_args()

    if args.keep:
        shutil.rmtree(args.keep, ignore_errors=True)
        os.makedirs(args.keep)
        work = args.keep
        tmp = None
    else:
        tmp = tempfile.TemporaryDirectory(prefix='verify_log_check.')
        work = tmp.name
    keys = os.path.join(work, 'keys')
    log = os.path.join(work, 'log')
    anchors = os.path.join(work, 'anchors.jsonl')
    auditor_mac = os.path.join(work, 'auditor-mac.key')

    must([args.cli, 'keygen', '--out', keys, '--origin', 'interop.example/verify-log'])
    shutil.copy2(os.path.join(keys, 'mac.key'), auditor_mac)  # before the first append (copy2 keeps mode 0600)
    os.chmod(auditor_mac, 0o600)
    n = 0
    for count in (100, 120, 80):
        must([args.cli, 'append', '--dir', log, '--mac-key', os.path.join(keys, 'mac.key'),
              '--signing-key', os.path.join(keys, 'signing.key'), '--anchor-file', anchors,
              '--checkpoint-records', '23', '--max-segment-bytes', '60000', '--durability', 'none'],
             stdin=events(n, count))
        n += count

    key = os.path.join(keys, 'verifier.key')
    failures = []

    def verify_both(name, path, expect):
        """expect: None for intact, else (reason, seq) of the first finding."""
        rc1, out1, err1 = run([args.cli, 'verify', path, '--key', key, '--mac-key', auditor_mac,
                               '--anchor', anchors, '--json'])
        rc2, out2, err2 = run([sys.executable, VERIFY_LOG, path, '--key', key, '--mac-key', auditor_mac,
                               '--anchor', anchors, '--openssl', args.openssl, '--json'])
        if rc1 not in (0, 1) or rc2 not in (0, 1):
            failures.append('%s: exit codes %d (fooocus-audit) and %d (verify_log.py)\n%s\n%s' % (name, rc1, rc2,
                                                                                               err1, err2))
            print('FAIL %s' % failures[-1])
            return None, None
        j1, j2 = json.loads(out1), json.loads(out2)
        f1 = [(f['reason'], f['seq']) for f in j1['findings']]
        f2 = [(f['reason'], f['seq']) for f in j2['findings']]
        print('== %s: fooocus-audit exit %d, verify_log.py exit %d' % (name, rc1, rc2))
        print('   fooocus-audit: %s' % (f1 or 'intact'))
        print('   verify_log.py: %s' % (f2 or 'intact'))
        problems = []
        if rc1 != rc2 or j1['intact'] != j2['intact']:
            problems.append('intact: %s vs %s' % (j1['intact'], j2['intact']))
        elif f1 and f1[0] != f2[0]:
            problems.append('first finding %s vs %s' % (f1[0], f2[0]))
        if expect is None and (rc1 != 0 or f1):
            problems.append('expected intact')
        if expect is not None and (not f1 or f1[0] != expect):
            problems.append('expected first finding %s' % (expect,))
        if f1 != f2:
            print('   (later findings differ; only the first one must agree)')
        for p in problems:
            failures.append('%s: %s' % (name, p))
            print('   FAIL: %s' % p)
        return j1, j2

    # 1. the intact log
    j1, j2 = verify_both('intact', log, None)
    if j1 is not None:
        for k in ('log_id', 'head', 'merkle_root', 'records', 'checkpoints_verified', 'macs_checked'):
            if j1.get(k) != j2.get(k):
                failures.append('intact: %s %r (fooocus-audit) vs %r (verify_log.py)' % (k, j1.get(k), j2.get(k)))
                print('   FAIL: %s' % failures[-1])
        print('   %d records in %d segments, %d signed checkpoints, merkle root %s'
              % (j1['records'], j1['segments'], j1['checkpoints_verified'], j1['merkle_root']))
        if j1['segments'] < 2 or j1['checkpoints_verified'] < 5:
            failures.append('intact: the test log should span several segments and checkpoints')

    base = read_lines(log)
    si, li, target = pick_target(base)
    print('target record: seq %d (line %d of %s)' % (target, li, os.path.basename(base[si][0])))

    # 2. one byte of one record's event changed
    d = os.path.join(work, 'byte-changed')
    segs = copy_log(log, d)
    segs[si][1][li] = flip_event_byte(segs[si][1][li])
    write_lines(segs)
    verify_both('byte-changed', d, ('mac_invalid', target))

    # 3. one record deleted
    d = os.path.join(work, 'deleted')
    segs = copy_log(log, d)
    del segs[si][1][li]
    write_lines(segs)
    verify_both('deleted', d, ('sequence_gap', target))

    # 4. the last 3 records cut (the anchor file still names the final checkpoint)
    d = os.path.join(work, 'cut-tail')
    segs = copy_log(log, d)
    last_seq = json.loads(segs[-1][1][-1])['seq']
    for _ in range(3):
        while not segs[-1][1]:
            os.unlink(segs[-1][0])  # only the newest segment may be empty
            segs.pop()
        segs[-1][1].pop()
    write_lines(segs)
    verify_both('cut-tail', d, ('truncated_tail', last_seq - 2))

    # 5. an event changed and every later `prev` recomputed: the chain is whole again, the MACs are not
    d = os.path.join(work, 'rechained')
    segs = copy_log(log, d)
    segs[si][1][li] = flip_event_byte(segs[si][1][li])
    prev = None
    for s_i, (_, lines) in enumerate(segs):
        for l_i, line in enumerate(lines):
            if prev is not None and (s_i, l_i) > (si, li):
                m = PREV_RE.search(line)
                line = line[:m.start(1)] + prev.encode('ascii') + line[m.end(1):]
                lines[l_i] = line
            prev = chain_hash(line)
    write_lines(segs)
    verify_both('rechained', d, ('mac_invalid', target))

    if failures:
        print('\n%d failure(s):' % len(failures))
        for f in failures:
            print('  ' + f)
        return 1
    print('\nOK: both verifiers agree on the intact log and on 4 tampered copies')
    return 0


if __name__ == '__main__':
    sys.exit(main())
