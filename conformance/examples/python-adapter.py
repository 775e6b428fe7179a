#!/usr/bin/env python3
"""A complete conformance adapter in Python with numpy: Conv2d backward (dx, dw, db), and its forward.

Run it against the corpus with:

    conformance-runner --impl "cmd:python3 conformance/examples/python-adapter.py"

Protocol conv2d-backward-conformance/1.2: one JSON object per line on stdin/stdout.
  1. We write a handshake: protocol, name, layouts, dtypes, supports, outputs, and
     "forward": true (we answer forward requests: y is scored, and --gradcheck works).
  2. For each fixture the runner writes {"type": "backward", "id", "dtype", "params",
     "inputs": {"x", "w", "dy"}, "outputs": {"dx", "dw", "db"}} naming .npy files
     (inputs already in our declared layouts); we write every output file, then
     answer {"id", "ok": true} (or {"id", "ok": false, "error": "..."}).
     A {"type": "forward"} request names inputs {"x", "w", "b"?} and outputs {"y"}: we
     write y = conv(x, w) + b (no "b": no bias) and answer the same way.
  3. {"type": "shutdown"} (or end of input) ends the program.
Anything else we print must not be a JSON object on stdout; use stderr for logs.

Layouts here: x, dy, dx are NCHW; w, dw are OIHW; db is [Cout]. With groups G,
output channel o reads input channels g*C/G ... (g+1)*C/G - 1, g = o // (Cout/G).
The forward reads x[n, c, oh*sh + kh*dh - top, ow*sw + kw*dw - left] for each
kernel tap (kh, kw); taps that land in the zero padding contribute nothing, so
for each tap we use only the output rows/columns whose input position is inside x.
"""
import json
import sys
import time

import numpy as np

PROTOCOL = 'conv2d-backward-conformance/1.2'


def tap_range(out_size, in_size, stride, dilation, pad_before, tap):
    """Output positions first..last whose input position o*stride + tap*dilation - pad_before is in [0, in_size)."""
    offset = tap * dilation - pad_before
    first = max(0, -(offset // stride))  # ceil(-offset / stride)
    last = min(out_size - 1, (in_size - 1 - offset) // stride)
    return first, last, offset


def kernel_taps(out_shape, in_shape, kernel_shape, params):
    """For each kernel tap (kh, kw) that reaches x: (kh, kw, output rows, output columns, input rows, input columns) as slices."""
    (out_height, out_width), (height, width), (kernel_height, kernel_width) = out_shape, in_shape, kernel_shape
    stride_h, stride_w = params['stride']
    dilation_h, dilation_w = params['dilation']
    pads = params['pads']
    for kh in range(kernel_height):
        row_first, row_last, row_offset = tap_range(out_height, height, stride_h, dilation_h, pads['top'], kh)
        if row_last < row_first:
            continue
        rows = slice(row_first * stride_h + row_offset, row_last * stride_h + row_offset + 1, stride_h)
        for kw in range(kernel_width):
            col_first, col_last, col_offset = tap_range(out_width, width, stride_w, dilation_w, pads['left'], kw)
            if col_last < col_first:
                continue
            cols = slice(col_first * stride_w + col_offset, col_last * stride_w + col_offset + 1, stride_w)
            yield kh, kw, slice(row_first, row_last + 1), slice(col_first, col_last + 1), rows, cols


def conv2d_backward(x, w, dy, params):
    """x [N, C, H, W], w [Cout, C/G, KH, KW], dy [N, Cout, OH, OW] (float64) -> dx, dw, db."""
    batch, channels, height, width = x.shape
    out_channels, group_channels, kernel_height, kernel_width = w.shape
    _, _, out_height, out_width = dy.shape
    groups = params['groups']
    group_out = out_channels // groups

    dy_groups = dy.reshape(batch, groups, group_out, out_height, out_width)
    w_groups = w.reshape(groups, group_out, group_channels, kernel_height, kernel_width)
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)
    dx_groups = dx.reshape(batch, groups, group_channels, height, width)  # a view: writes land in dx
    dw_groups = dw.reshape(groups, group_out, group_channels, kernel_height, kernel_width)
    x_groups = x.reshape(batch, groups, group_channels, height, width)

    for kh, kw, out_rows, out_cols, rows, cols in kernel_taps((out_height, out_width), (height, width), (kernel_height, kernel_width), params):
        dy_tap = dy_groups[:, :, :, out_rows, out_cols]  # [N, G, Og, h, w]
        x_tap = x_groups[:, :, :, rows, cols]  # [N, G, Cg, h, w]
        # dw[g, o, c, kh, kw] = sum over n, h, w of dy[n, g, o, h, w] * x[n, g, c, h, w]
        dw_groups[:, :, :, kh, kw] += np.einsum('ngohw,ngchw->goc', dy_tap, x_tap)
        # dx[n, g, c, rows, cols] += sum over o of dy[n, g, o, h, w] * w[g, o, c, kh, kw]
        dx_groups[:, :, :, rows, cols] += np.einsum('ngohw,goc->ngchw', dy_tap, w_groups[:, :, :, kh, kw])

    db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db


def conv2d_forward(x, w, b, params):
    """x [N, C, H, W], w [Cout, C/G, KH, KW], b [Cout] or None (float64) -> y [N, Cout, OH, OW]."""
    batch, channels, height, width = x.shape
    out_channels, group_channels, kernel_height, kernel_width = w.shape
    stride_h, stride_w = params['stride']
    dilation_h, dilation_w = params['dilation']
    pads = params['pads']
    groups = params['groups']
    group_out = out_channels // groups
    out_height = (height + pads['top'] + pads['bottom'] - dilation_h * (kernel_height - 1) - 1) // stride_h + 1
    out_width = (width + pads['left'] + pads['right'] - dilation_w * (kernel_width - 1) - 1) // stride_w + 1
    y = np.zeros((batch, out_channels, out_height, out_width))
    y_groups = y.reshape(batch, groups, group_out, out_height, out_width)  # a view: writes land in y
    w_groups = w.reshape(groups, group_out, group_channels, kernel_height, kernel_width)
    x_groups = x.reshape(batch, groups, group_channels, height, width)
    for kh, kw, out_rows, out_cols, rows, cols in kernel_taps((out_height, out_width), (height, width), (kernel_height, kernel_width), params):
        # y[n, g, o, h, w] += sum over c of x[n, g, c, h', w'] * w[g, o, c, kh, kw]
        y_groups[:, :, :, out_rows, out_cols] += np.einsum('ngchw,goc->ngohw', x_groups[:, :, :, rows, cols], w_groups[:, :, :, kh, kw])
    if b is not None:
        y += b.reshape(1, out_channels, 1, 1)
    return y


def load_input(path, dtype_name):
    """An input as float64. bfloat16 comes as its bits ('<u2'): the top half of a float32."""
    data = np.load(path)
    if dtype_name == 'bfloat16':
        return (data.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return data.astype(np.float64)


def to_bfloat16_bits(a):
    """float64 -> bfloat16 bits, round to nearest even, directly (no double rounding via float32)."""
    m, e = np.frexp(a)  # a = m * 2^e, 0.5 <= |m| < 1
    v = np.ldexp(np.rint(m * 256), e - 8)  # 8 significant bits; np.rint rounds ties to even
    tiny = np.abs(a) < 2.0 ** -126  # bfloat16 subnormals are multiples of 2^-133
    v = np.where(tiny, np.rint(a * 2.0 ** 133) * 2.0 ** -133, v)
    bits = (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)  # exact, or +-inf past the range
    return np.where(np.isnan(a), np.uint16(0x7FC0), bits)


def save_output(path, values, dtype_name):
    """Round once to the fixture's dtype and save (bfloat16 as its bits, '<u2')."""
    if dtype_name == 'bfloat16':
        np.save(path, to_bfloat16_bits(values))
    else:
        np.save(path, values.astype(np.dtype(dtype_name)))


def send(message):
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


def main():
    send({
        'protocol': PROTOCOL,
        'name': 'numpy-example',
        'layout': 'NCHW',
        'filterLayout': 'OIHW',
        'dtypes': ['float16', 'float32', 'float64', 'bfloat16'],
        'supports': {'groups': True, 'dilation': True, 'asymmetricPads': True},
        'outputs': ['dx', 'dw', 'db'],
        'forward': True,
    })
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get('type') == 'shutdown':
            break
        fixture_id = request.get('id')
        try:
            start = time.perf_counter()
            dtype_name = request['dtype']
            # Compute in float64 and round once to the fixture's dtype.
            inputs = {name: load_input(path, dtype_name) for name, path in request['inputs'].items()}
            with np.errstate(all='ignore'):  # inf - inf = nan etc. are expected in the 'special' family
                if request.get('type') == 'forward':
                    results = {'y': conv2d_forward(inputs['x'], inputs['w'], inputs.get('b'), request['params'])}
                else:
                    dx, dw, db = conv2d_backward(inputs['x'], inputs['w'], inputs['dy'], request['params'])
                    results = {'dx': dx, 'dw': dw, 'db': db}
                for name, path in request['outputs'].items():
                    save_output(path, results[name], dtype_name)
            send({'id': fixture_id, 'ok': True, 'seconds': time.perf_counter() - start})
        except Exception as error:  # report the failure for this fixture and carry on
            send({'id': fixture_id, 'ok': False, 'error': f'{type(error).__name__}: {error}'})


if __name__ == '__main__':
    main()
