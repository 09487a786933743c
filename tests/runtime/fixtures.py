#!/usr/bin/env python3
"""Fixtures and expected results for the runtime's CLI test (run_cli.sh),
with only the standard library (struct + json + math).

  fixtures.py make DIR            write weights, inputs and expected.json
  fixtures.py top DIR KEY.. < out   check printed top classes (text)
  fixtures.py json DIR K [--nolabels] KEY.. < out  check --json output (K = --top;
                                   !NAME: an error entry for input NAME)
  fixtures.py npy DIR FILE KEY..   check an (N, 3) .npy output
  fixtures.py mapnpy DIR FILE W B KEY  check a (1, 1, 4, 4) map output
  fixtures.py pgm DIR FILE W B KEY     check a map written as PGM

The expected numbers are computed here, independently of the program: the
fixture model is y[k] = b[k] + sum_j W[k][j] x[j] (fixture_model.c), images
normalised as (pixel/maxval - 0.5) / 0.25."""
import json
import math
import os
import struct
import sys

TOL = 1e-4  # tests/tolerance.h: |out - ref| <= 1e-4 x max(1, max|ref|)

W = [[round(math.sin(k * 16 + j + 1) * 0.5, 6) for j in range(16)] for k in range(3)]
B = [0.125, -0.25, 0.375]
X = [(j % 5) / 4 - 0.5 for j in range(16)]            # x.npy
X2 = [0.25 * ((j * 7) % 9) - 1.0 for j in range(16)]  # second image of x2.npy
P8 = [(j * 17) % 256 for j in range(16)]              # img8.pgm, maxval 255
P16 = [j * 4000 + 5 for j in range(16)]               # img16.pgm, maxval 65535


def f32(v):
    return struct.unpack('<f', struct.pack('<f', v))[0]


def f16(v):
    return struct.unpack('<e', struct.pack('<e', v))[0]


def bf16_bits(v):
    """Round-to-nearest-even of float32 bits to their top 16."""
    u = struct.unpack('<I', struct.pack('<f', v))[0]
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF


def bf16(v):
    return struct.unpack('<f', struct.pack('<I', bf16_bits(v) << 16))[0]


def safetensors(tensors, meta=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, data = {}, b''
    for name, dtype, shape, raw in tensors:
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [len(data), len(data) + len(raw)]}
        data += raw
    if meta is not None:
        header['__metadata__'] = meta
    h = json.dumps(header).encode()
    h += b' ' * (-len(h) % 8)
    return struct.pack('<Q', len(h)) + h + data


def pack(dtype, vals):
    if dtype == 'F32':
        return struct.pack('<%df' % len(vals), *vals)
    if dtype == 'F64':
        return struct.pack('<%dd' % len(vals), *vals)
    if dtype == 'F16':
        return struct.pack('<%de' % len(vals), *vals)
    if dtype == 'BF16':
        return struct.pack('<%dH' % len(vals), *[bf16_bits(v) for v in vals])
    if dtype == 'I32':
        return struct.pack('<%di' % len(vals), *[int(v) for v in vals])
    raise ValueError(dtype)


def weights(dtype, **kw):
    flat = [v for row in W for v in row]
    t = [('fc.weight', kw.get('wdtype', dtype), kw.get('wshape', [3, 16]), pack(kw.get('wdtype', dtype), flat)),
         ('fc.bias', dtype, [3], pack(dtype, B))]
    return safetensors(t + kw.get('extra', []), {'format': 'pt'})


def npy(shape, vals, descr='<f4', fortran=False, version=1):
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, 'True' if fortran else 'False', ''.join('%d, ' % s for s in shape))
    pre = 12 if version > 1 else 10
    hdr += ' ' * (-(pre + len(hdr) + 1) % 64) + '\n'
    lenfield = struct.pack('<I' if version > 1 else '<H', len(hdr))
    fmt = {'<f4': '<%df', '>f4': '>%df', '<f8': '<%dd', '|u1': '<%dB'}[descr] % len(vals)
    return b'\x93NUMPY' + bytes([version, 0]) + lenfield + hdr.encode() + struct.pack(fmt, *vals)


def scores(x, dt=f32):
    # The runtime converts weights to float32; inputs are float32 too.
    return [dt(B[k]) + sum(dt(W[k][j]) * f32(x[j]) for j in range(16)) for k in range(3)]


def image_input(pixels, maxval):
    return [f32((p / maxval - 0.5) / 0.25) for p in pixels]


def make(d):
    def put(name, data):
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)

    for dt in ('F32', 'F16', 'BF16', 'F64'):
        put('w_%s.safetensors' % dt.lower(), weights(dt))
    good = weights('F32')
    put('w_extra.safetensors', weights('F32', extra=[('fc.extra', 'F32', [2], pack('F32', [1, 2]))]))
    put('w_missing.safetensors', safetensors([('fc.weight', 'F32', [3, 16], pack('F32', [v for r in W for v in r]))]))
    put('w_shape.safetensors', weights('F32', wshape=[3, 4, 4]))
    put('w_dtype.safetensors', weights('F32', wdtype='I32'))
    put('w_truncated.safetensors', good[:-10])
    put('w_hlen.safetensors', struct.pack('<Q', 1 << 20) + good[8:200])
    put('w_json.safetensors', struct.pack('<Q', 24) + b'{"fc.weight": {"dtype": ')
    put('w_empty.safetensors', b'')
    put('wmap.safetensors', safetensors([('conv.weight', 'F32', [1, 1, 1, 1], pack('F32', [2.0])),
                                         ('conv.bias', 'F32', [1], pack('F32', [9.0]))]))
    put('labels.txt', b'zero\none\r\ntwo\n')

    put('x.npy', npy([1, 4, 4], X))
    put('x2.npy', npy([2, 1, 4, 4], X + X2))
    put('x_hw_f8.npy', npy([4, 4], X, '<f8', version=2))
    put('x_be.npy', npy([1, 1, 4, 4], X, '>f4', version=3))
    # Fortran order: the file holds the transpose's C order.
    xt = [X[(j % 4) * 4 + j // 4] for j in range(16)]
    put('x_fortran.npy', npy([1, 4, 4], xt, fortran=True))
    put('x_u8.npy', npy([1, 4, 4], P8, '|u1'))
    put('img8.pgm', b'P5\n# a comment\n4 4\n255\n' + bytes(P8))
    put('img16.pgm', ('P2\n4 # width\n4\n65535\n' + ' '.join(map(str, P16)) + '\n').encode())

    put('bad_shape.npy', npy([3, 4, 4], X * 3))
    put('bad_trunc.npy', npy([1, 4, 4], X)[:-5])
    put('bad_magic.npy', b'\x93NUMPX' + npy([1, 4, 4], X)[6:])
    put('bad_overflow.npy', npy([1 << 40, 1 << 40], []))
    put('bad_depth.ppm', b'P6 4 4 255\n' + bytes(48))
    put('bad_size.pgm', b'P5 5 4 255\n' + bytes(20))
    put('bad_header.pgm', b'P5 4 x 255\n' + bytes(16))
    put('bad_trunc.pgm', b'P5 4 4 255\n' + bytes(10))
    put('bad_empty.npy', b'')
    put('bad_huge.pgm', b'P5 1000000 1000000 255\n\x00')

    exp = {
        'x.npy': scores(X), 'x2.npy[0]': scores(X), 'x2.npy[1]': scores(X2),
        'x_hw_f8.npy': scores(X), 'x_be.npy': scores(X), 'x_fortran.npy': scores(X),
        'x_u8.npy': scores([float(p) for p in P8]),
        'img8.pgm': scores(image_input(P8, 255)), 'img16.pgm': scores(image_input(P16, 65535)),
        'x.npy@F16': scores(X, f16), 'x.npy@BF16': scores(X, bf16), 'x.npy@F64': scores(X),
        'map8': [p / 255 for p in P8],
    }
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(exp, f)


def close(got, want):
    bound = TOL * max([1.0] + [abs(w) for w in want])
    return len(got) == len(want) and all(abs(g - w) <= bound for g, w in zip(got, want))


def ranked(s):
    return sorted(range(len(s)), key=lambda k: (-s[k], k))


def fail(msg):
    print('fixtures.py: FAIL:', msg)
    sys.exit(1)


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == 'make':
        return make(d)
    exp = json.load(open(os.path.join(d, 'expected.json')))
    labels = ['zero', 'one', 'two']
    if cmd == 'top':
        # Blocks: "NAME: top K of 3 classes", a column header, K rows "# index score label".
        lines = sys.stdin.read().splitlines()
        keys = sys.argv[3:]
        with_labels = keys[0] == '--labels'
        keys = keys[1:] if with_labels else keys
        i = 0
        for key in keys:
            name = key.split('@')[0]
            want = exp[key]
            if not os.path.basename(lines[i]).startswith(name + ': top '):
                fail('expected a block for %s, got %r' % (name, lines[i]))
            k = int(lines[i].split()[2])
            order = ranked(want)[:k]
            rows = [l.split() for l in lines[i + 2:i + 2 + k]]
            got_idx = [int(r[1]) for r in rows]
            if got_idx != order:
                fail('%s: classes %s, expected %s' % (key, got_idx, order))
            if not close([float(r[2]) for r in rows], [want[c] for c in order]):
                fail('%s: scores %s, expected %s' % (key, [r[2] for r in rows], [want[c] for c in order]))
            want_labels = [labels[c] if with_labels else str(c) for c in order]
            if [r[3] for r in rows] != want_labels:
                fail('%s: labels %s, expected %s' % (key, [r[3] for r in rows], want_labels))
            i += 2 + k
        if i != len(lines):
            fail('extra output: %r' % lines[i:])
    elif cmd == 'json':
        k = int(sys.argv[3])
        doc = json.loads(sys.stdin.read())
        keys = sys.argv[4:]
        # Without a labels file a label is the index as a string (SPEC section 8).
        names = labels
        if keys and keys[0] == '--nolabels':
            keys, names = keys[1:], [str(c) for c in range(3)]
        if not isinstance(doc, list) or len(doc) != len(keys):
            fail('expected a JSON array of %d' % len(keys))
        for item, key in zip(doc, keys):
            if key.startswith('!'):
                # An input that could not be read: its name and the error.
                if os.path.basename(item['input']) != key[1:] or not item.get('error') or 'result' in item:
                    fail('expected an error entry for %s, got %r' % (key[1:], item))
                continue
            want = exp[key]
            order = ranked(want)[:min(k, 3)]
            if os.path.basename(item['input']) != key or item['result_num'] != len(order) or len(item['result']) != len(order):
                fail('bad item %r' % item)
            if [r['index'] for r in item['result']] != order:
                fail('%s: order %r' % (key, item['result']))
            if [r['label'] for r in item['result']] != [names[c] for c in order]:
                fail('%s: labels %r' % (key, item['result']))
            if not close([r['score'] for r in item['result']], [want[c] for c in order]):
                fail('%s: scores %r' % (key, item['result']))
    elif cmd in ('npy', 'mapnpy'):
        raw = open(sys.argv[3], 'rb').read()
        if raw[:8] != b'\x93NUMPY\x01\x00':
            fail('bad magic')
        hlen = struct.unpack('<H', raw[8:10])[0]
        if (10 + hlen) % 64:
            fail('header not padded to 64')
        hdr = raw[10:10 + hlen].decode()
        vals = list(struct.unpack('<%df' % ((len(raw) - 10 - hlen) // 4), raw[10 + hlen:]))
        if cmd == 'npy':
            keys = sys.argv[4:]
            shape = "(%d, 3)" % len(keys)
            want = [v for key in keys for v in exp[key]]
        else:
            w, b = float(sys.argv[4]), float(sys.argv[5])
            shape = "(1, 1, 4, 4)"
            want = [w * f32(x) + b for x in exp[sys.argv[6]]]
        if "'descr': '<f4'" not in hdr or "'fortran_order': False" not in hdr or "'shape': %s" % shape not in hdr:
            fail('header %r, expected shape %s' % (hdr, shape))
        if not close(vals, want):
            fail('values %s, expected %s' % (vals, want))
    elif cmd == 'pgm':
        raw = open(sys.argv[3], 'rb').read()
        w, b = float(sys.argv[4]), float(sys.argv[5])
        want = bytes(min(255, max(0, math.floor((w * f32(x) + b) * 255 + 0.5))) for x in exp[sys.argv[6]])
        if raw != b'P5\n4 4\n255\n' + want:
            fail('PGM %r, expected %r' % (raw, want))
    else:
        fail('unknown command ' + cmd)


if __name__ == '__main__':
    main()
