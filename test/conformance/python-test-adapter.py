#!/usr/bin/env python3
"""A cmd: adapter in pure Python (standard library only, no numpy) for the runner's tests.

It speaks protocol conv2d-backward-conformance/1 on stdin/stdout (one JSON object per
line), reads and writes .npy files itself (<f2, <f4, <f8, C order, format 1.0), and
computes a naive Conv2d backward in float64 in whatever layouts it declares, rounding
once to the fixture's dtype.

Options (for tests):
  --layout NCHW|NHWC          --filter-layout OIHW|HWIO|OHWI
  --dtypes float16,float32,float64      --outputs dx,dw,db
  --no-dilation               declare supports.dilation = false
  --crash-on TEXT             exit(3) on fixtures whose id contains TEXT
  --hang-on TEXT              never answer on those fixtures
  --fail-on TEXT              answer {"ok": false} on those fixtures
  --wrong-on TEXT             add 1 to dw[0] on those fixtures
  --noise                     print non-protocol lines on stdout and stderr
  --protocol TEXT             handshake with another protocol string
  --unsupported-on TEXT       answer {"unsupported": reason} on those fixtures (protocol 1.1)
  --long-line-on TEXT         on those fixtures, answer with a line of 2 MiB (over the 1 MiB limit)
  --helper-pidfile PATH       start a helper process (sleep 300) that inherits stdout; write its pid to PATH
  --helper-escapes            the helper leaves the process group (a new session), so only its pipe remains
  --flood N                   at shutdown, write N numbered lines to stdout and to stderr, then exit
  --take-next-folders         create the folders and files a predictable runner would use for the next fixtures
"""
import argparse
import ast
import json
import math
import os
import struct
import subprocess
import sys
import time

PROTOCOL = 'conv2d-backward-conformance/1'
CODES = {'<f2': 'e', '<f4': 'f', '<f8': 'd'}
DESCR = {'float16': '<f2', 'float32': '<f4', 'float64': '<f8'}


def read_npy(path):
    with open(path, 'rb') as handle:
        data = handle.read()
    if data[:6] != b'\x93NUMPY':
        raise ValueError(f'{path}: not a .npy file')
    major = data[6]
    if major == 1:
        (header_length,) = struct.unpack_from('<H', data, 8)
        start = 10
    else:
        (header_length,) = struct.unpack_from('<I', data, 8)
        start = 12
    header = ast.literal_eval(data[start:start + header_length].decode('latin1'))
    if header['fortran_order']:
        raise ValueError(f'{path}: Fortran order is not supported')
    code = CODES[header['descr']]
    shape = tuple(header['shape'])
    count = 1
    for size in shape:
        count *= size
    values = list(struct.unpack_from(f'<{count}{code}', data, start + header_length))
    return header['descr'], shape, values


def pack_values(code, values):
    try:
        return struct.pack(f'<{len(values)}{code}', *values)
    except OverflowError:
        # Finite values beyond the dtype's range round to infinity.
        parts = []
        for value in values:
            try:
                parts.append(struct.pack(f'<{code}', value))
            except OverflowError:
                parts.append(struct.pack(f'<{code}', math.copysign(math.inf, value)))
        return b''.join(parts)


def write_npy(path, descr, shape, values):
    shape_text = f'({shape[0]},)' if len(shape) == 1 else '(' + ', '.join(str(size) for size in shape) + ')'
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    total = 10 + len(text) + 1
    text += ' ' * ((64 - total % 64) % 64) + '\n'
    with open(path, 'wb') as handle:
        handle.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(text)) + text.encode('latin1'))
        handle.write(pack_values(CODES[descr], values))


def activation_index(layout, sizes):
    _, channels, height, width = sizes
    if layout == 'NHWC':
        return lambda n, c, h, w: ((n * height + h) * width + w) * channels + c
    return lambda n, c, h, w: ((n * channels + c) * height + h) * width + w


def filter_index(layout, sizes):
    out_channels, in_per_group, kernel_height, kernel_width = sizes
    if layout == 'HWIO':
        return lambda o, i, kh, kw: ((kh * kernel_width + kw) * in_per_group + i) * out_channels + o
    if layout == 'OHWI':
        return lambda o, i, kh, kw: ((o * kernel_height + kh) * kernel_width + kw) * in_per_group + i
    return lambda o, i, kh, kw: ((o * in_per_group + i) * kernel_height + kh) * kernel_width + kw


def canonical_activation(layout, shape):
    return (shape[0], shape[3], shape[1], shape[2]) if layout == 'NHWC' else tuple(shape)


def canonical_filter(layout, shape):
    if layout == 'HWIO':
        return (shape[3], shape[2], shape[0], shape[1])
    if layout == 'OHWI':
        return (shape[0], shape[3], shape[1], shape[2])
    return tuple(shape)


def backward(request, layout, filter_layout):
    _, x_shape, x = read_npy(request['inputs']['x'])
    _, w_shape, w = read_npy(request['inputs']['w'])
    _, dy_shape, dy = read_npy(request['inputs']['dy'])
    params = request['params']
    stride, dilation, pads, groups = params['stride'], params['dilation'], params['pads'], params['groups']
    batch, in_channels, in_height, in_width = canonical_activation(layout, x_shape)
    out_channels, in_per_group, kernel_height, kernel_width = canonical_filter(filter_layout, w_shape)
    _, _, out_height, out_width = canonical_activation(layout, dy_shape)
    x_at = activation_index(layout, (batch, in_channels, in_height, in_width))
    dy_at = activation_index(layout, (batch, out_channels, out_height, out_width))
    w_at = filter_index(filter_layout, (out_channels, in_per_group, kernel_height, kernel_width))
    out_per_group = out_channels // groups
    dx = [0.0] * len(x)
    dw = [0.0] * len(w)
    db = [0.0] * out_channels
    for n in range(batch):
        for o in range(out_channels):
            group = o // out_per_group
            for oh in range(out_height):
                for ow in range(out_width):
                    gradient = dy[dy_at(n, o, oh, ow)]
                    db[o] += gradient
                    for i in range(in_per_group):
                        c = group * in_per_group + i
                        for kh in range(kernel_height):
                            ih = oh * stride[0] + kh * dilation[0] - pads['top']
                            if ih < 0 or ih >= in_height:
                                continue
                            for kw in range(kernel_width):
                                iw = ow * stride[1] + kw * dilation[1] - pads['left']
                                if iw < 0 or iw >= in_width:
                                    continue
                                xi = x_at(n, c, ih, iw)
                                wi = w_at(o, i, kh, kw)
                                dx[xi] += gradient * w[wi]
                                dw[wi] += gradient * x[xi]
    return {'dx': (x_shape, dx), 'dw': (w_shape, dw), 'db': ((out_channels,), db)}


def send(value):
    sys.stdout.write(json.dumps(value) + '\n')
    sys.stdout.flush()


def matches(pattern, fixture_id):
    return pattern is not None and pattern in fixture_id


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--layout', default='NCHW')
    parser.add_argument('--filter-layout', default='OIHW')
    parser.add_argument('--dtypes', default='float16,float32,float64')
    parser.add_argument('--outputs', default='dx,dw,db')
    parser.add_argument('--no-dilation', action='store_true')
    parser.add_argument('--crash-on')
    parser.add_argument('--hang-on')
    parser.add_argument('--fail-on')
    parser.add_argument('--wrong-on')
    parser.add_argument('--noise', action='store_true')
    parser.add_argument('--protocol', default=PROTOCOL)
    parser.add_argument('--unsupported-on')
    parser.add_argument('--long-line-on')
    parser.add_argument('--helper-pidfile')
    parser.add_argument('--helper-escapes', action='store_true')
    parser.add_argument('--flood', type=int, default=0)
    parser.add_argument('--take-next-folders', action='store_true')
    options = parser.parse_args()
    outputs = options.outputs.split(',')

    if options.helper_pidfile:
        helper = subprocess.Popen(['sleep', '300'], start_new_session=options.helper_escapes)
        with open(options.helper_pidfile, 'w') as handle:
            handle.write(str(helper.pid))

    if options.noise:
        print('python adapter starting up (not JSON)', flush=True)
    send({
        'protocol': options.protocol,
        'name': 'python-test-adapter',
        'layout': options.layout,
        'filterLayout': options.filter_layout,
        'dtypes': options.dtypes.split(','),
        'supports': {'groups': True, 'dilation': not options.no_dilation, 'asymmetricPads': True},
        'outputs': outputs,
    })
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get('type') == 'shutdown':
            for index in range(options.flood):
                print(f'flood stdout {index}')
                print(f'flood stderr {index}', file=sys.stderr)
            break
        fixture_id = request['id']
        if options.take_next_folders:
            # The runner names a request's files <n>-<random>-x.npy in its folder: take the folders
            # an older runner used (<n+1>, ...) and the names a runner without the random part would.
            folder, name = os.path.split(request['inputs']['x'])
            number = int(name.split('-')[0]) if name.split('-')[0].isdigit() else 0
            for ahead in range(1, 6):
                os.makedirs(os.path.join(folder, str(number + ahead)), exist_ok=True)
                for tensor in ('x', 'w', 'dy'):
                    open(os.path.join(folder, f'{number + ahead}-{tensor}.npy'), 'w').close()
        if matches(options.unsupported_on, fixture_id):
            send({'id': fixture_id, 'unsupported': 'one stride for both axes only'})
            continue
        if options.noise:
            print(f'computing {fixture_id}', flush=True)
            print(json.dumps({'id': 'not-' + fixture_id, 'ok': True}), flush=True)
            print(f'stderr noise for {fixture_id}', file=sys.stderr, flush=True)
        if matches(options.crash_on, fixture_id):
            print(f'crashing on {fixture_id}', file=sys.stderr, flush=True)
            sys.exit(3)
        if matches(options.hang_on, fixture_id):
            time.sleep(3600)
        if matches(options.fail_on, fixture_id):
            send({'id': fixture_id, 'ok': False, 'error': f'cannot compute {fixture_id}'})
            continue
        start = time.perf_counter()
        result = backward(request, options.layout, options.filter_layout)
        if matches(options.wrong_on, fixture_id):
            result['dw'][1][0] += 1.0
        descr = DESCR[request['dtype']]
        for name, path in request['outputs'].items():
            shape, values = result[name]
            write_npy(path, descr, shape, values)
        answer = {'id': fixture_id, 'ok': True, 'seconds': time.perf_counter() - start}
        if matches(options.long_line_on, fixture_id):
            answer['padding'] = 'x' * (2 * 1024 * 1024)
        send(answer)


if __name__ == '__main__':
    main()
