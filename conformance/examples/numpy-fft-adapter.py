#!/usr/bin/env python3
"""A Conv2d backward by FFT with numpy (numpy.fft), as a `cmd:` adapter of the FFT precision class.

    conformance-runner --impl "cmd:python3 conformance/examples/numpy-fft-adapter.py" --filter dtype=float32

It declares precision {"algorithm": "fft"}: dx and dw are judged normwise per output plane
by the FFT bound of docs/tolerance.md, which covers power-of-two transform sizes up to
L = nextpow2(H + pads + (OH - 1)*S + (K - 1)*D + 1) per axis; this adapter uses exactly that
size, so its 2D FFTs are power-of-two ones (numpy's pocketfft runs them as radix-4/radix-2
passes). With numpy 2, float32 inputs are transformed in float32; older numpy computes in
float64, which the bound admits too.

  dx[n, c]  = crop( ifft2( sum_o fft2(dy_up[n, o]) * fft2(w_dil[o, c']) ) )     (a full convolution)
  dw[o, c'] = sample( ifft2( sum_n fft2(x_pad[n, c]) * conj(fft2(dy_up[n, o])) ) )  (a correlation)

dy_up is dy with S - 1 zeros between its elements, w_dil the kernel with D - 1 zeros between
its taps, x_pad x after the top/left pads. db is a direct sum. A fixture with a NaN or an
infinite input is computed directly (an FFT spreads one over the whole plane), as the
runner then judges it by the direct rule.

--pad-bug: a deliberate bug for the self-test: the FFT path forgets the top/left pads
(x placed at the origin for dw, dx cropped at the origin).
"""
import importlib.util
import json
import pathlib
import sys
import time

import numpy as np

PROTOCOL = 'conv2d-backward-conformance/1'


def direct_backward():
    """conv2d_backward of the direct numpy example beside this file (float64, for non-finite inputs)."""
    path = pathlib.Path(__file__).resolve().with_name('python-adapter.py')
    spec = importlib.util.spec_from_file_location('python_adapter_example', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.conv2d_backward


def next_power_of_two(n):
    size = 1
    while size < n:
        size *= 2
    return size


def fft_sizes(x_shape, w_shape, dy_shape, params):
    """The FFT size per axis that src/precision-class.ts fftSizes() names."""
    pads = params['pads']
    before_after = ((pads['top'], pads['bottom']), (pads['left'], pads['right']))
    return tuple(
        next_power_of_two(x_shape[2 + axis] + sum(before_after[axis]) + (dy_shape[2 + axis] - 1) * params['stride'][axis] + (w_shape[2 + axis] - 1) * params['dilation'][axis] + 1)
        for axis in (0, 1)
    )


def fft_backward(x, w, dy, params, pad_bug=False):
    """x [N, C, H, W], w [Cout, C/G, KH, KW], dy [N, Cout, OH, OW] in one float dtype -> dx, dw, db in it."""
    dtype = x.dtype
    batch, channels, height, width = x.shape
    out_channels, group_channels, kernel_height, kernel_width = w.shape
    _, _, out_height, out_width = dy.shape
    groups = params['groups']
    group_out = out_channels // groups
    stride_h, stride_w = params['stride']
    dilation_h, dilation_w = params['dilation']
    top, left = params['pads']['top'], params['pads']['left']
    if pad_bug:
        top, left = 0, 0  # BUG (--pad-bug): the padding offset is forgotten
    size_h, size_w = fft_sizes(x.shape, w.shape, dy.shape, params)

    dy_up = np.zeros((batch, out_channels, size_h, size_w), dtype)
    dy_up[:, :, 0:(out_height - 1) * stride_h + 1:stride_h, 0:(out_width - 1) * stride_w + 1:stride_w] = dy
    w_dil = np.zeros((out_channels, group_channels, size_h, size_w), dtype)
    taps_h = slice(0, (kernel_height - 1) * dilation_h + 1, dilation_h)
    taps_w = slice(0, (kernel_width - 1) * dilation_w + 1, dilation_w)
    w_dil[:, :, taps_h, taps_w] = w
    x_pad = np.zeros((batch, channels, size_h, size_w), dtype)
    x_pad[:, :, top:top + height, left:left + width] = x

    dy_hat = np.fft.fft2(dy_up).reshape(batch, groups, group_out, size_h, size_w)
    w_hat = np.fft.fft2(w_dil).reshape(groups, group_out, group_channels, size_h, size_w)
    x_hat = np.fft.fft2(x_pad).reshape(batch, groups, group_channels, size_h, size_w)

    dx_hat = np.einsum('ngohw,gochw->ngchw', dy_hat, w_hat).reshape(batch, channels, size_h, size_w)
    dx = np.fft.ifft2(dx_hat).real[:, :, top:top + height, left:left + width]
    dw_hat = np.einsum('ngchw,ngohw->gochw', x_hat, np.conj(dy_hat)).reshape(out_channels, group_channels, size_h, size_w)
    dw = np.fft.ifft2(dw_hat).real[:, :, taps_h, taps_w]
    db = dy.sum(axis=(0, 2, 3))
    return dx.astype(dtype), dw.astype(dtype), db.astype(dtype)


def send(message):
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


def main():
    pad_bug = '--pad-bug' in sys.argv[1:]
    direct = direct_backward()
    send({
        'protocol': PROTOCOL,
        'name': 'numpy-fft-pad-bug' if pad_bug else 'numpy-fft',
        'layout': 'NCHW',
        'filterLayout': 'OIHW',
        'dtypes': ['float32'],
        'supports': {'groups': True, 'dilation': True, 'asymmetricPads': True},
        'outputs': ['dx', 'dw', 'db'],
        'precision': {'algorithm': 'fft'},
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
            x, w, dy = (np.load(request['inputs'][name]) for name in ('x', 'w', 'dy'))
            with np.errstate(all='ignore'):  # inf - inf = nan etc. are expected in the 'special' family
                if all(np.isfinite(array).all() for array in (x, w, dy)):
                    dx, dw, db = fft_backward(x, w, dy, request['params'], pad_bug)
                else:
                    dx, dw, db = (array.astype(x.dtype) for array in direct(*(a.astype(np.float64) for a in (x, w, dy)), request['params']))
                results = {'dx': dx, 'dw': dw, 'db': db}
                for name, path in request['outputs'].items():
                    np.save(path, results[name])
            send({'id': fixture_id, 'ok': True, 'seconds': time.perf_counter() - start})
        except Exception as error:  # report the failure for this fixture and carry on
            send({'id': fixture_id, 'ok': False, 'error': f'{type(error).__name__}: {error}'})


if __name__ == '__main__':
    main()
