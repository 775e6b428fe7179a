"""Use the conv2d-backward golden fixtures in your own pytest suite.

Needs only Python 3, numpy and pytest: no code from the conv2d-backward-conformance
package. Copy this file into your tests, replace `conv2d_backward` below with a
call into your implementation (and `conv2d_forward`, checked against y.npy where a
fixture has it, with yours or with one returning None), and point CONV2D_FIXTURES at a corpus folder:

    CONV2D_FIXTURES=path/to/fixtures python -m pytest use-fixtures-pytest.py

A corpus folder is the package's `fixtures/` (`npx conv2d-fixtures path` prints it)
or one installed with `npx conv2d-fixtures fetch URL --dest DIR`.

Selecting fixtures:
    pytest -k 'f32 and not special'           by words of the fixture id
    CONV2D_FIXTURES_PER_FAMILY=3              the first 3 fixtures (by id) of each data family
"""

import json
import os
import pathlib

import numpy as np
import pytest

FIXTURES = pathlib.Path(os.environ.get("CONV2D_FIXTURES", pathlib.Path(__file__).resolve().parents[2] / "fixtures"))


# ---------------------------------------------------------------------------
# THE IMPLEMENTATION UNDER TEST: replace this function with a call into yours.
#
# x [N, C, H, W], w [Cout, C/groups, KH, KW], dy [N, Cout, OH, OW], all in the
# fixture's dtype (numpy float16 / float32 / float64; bfloat16 values come as float32
# arrays, see load_input). Return dx, dw, db with the shapes of x, w and [Cout], as
# values of the fixture's dtype (`dtype`: its name in fixture.json). This stand-in
# computes in float64 and rounds once at the end; it skips the taps in the padding.
# ---------------------------------------------------------------------------
def conv2d_backward(x, w, dy, stride, dilation, pads, groups, dtype=None):
    dtype = dtype or x.dtype.name
    x, w, dy = (array.astype(np.float64) for array in (x, w, dy))
    _, channels, height, width = x.shape
    out_channels, group_channels, kernel_height, kernel_width = w.shape
    out_height, out_width = dy.shape[2], dy.shape[3]
    group_out_channels = out_channels // groups
    dx = np.zeros_like(x)
    dw = np.zeros_like(w)

    def reads(offset, step, outputs, size):
        """Output positions o whose input position offset + step*o lies inside [0, size)."""
        first = max(0, -(offset // step))
        last = min(outputs - 1, (size - 1 - offset) // step)
        return first, last + 1

    for group in range(groups):
        in_slice = slice(group * group_channels, (group + 1) * group_channels)
        out_slice = slice(group * group_out_channels, (group + 1) * group_out_channels)
        for kernel_row in range(kernel_height):
            row_offset = kernel_row * dilation[0] - pads["top"]
            row_first, row_end = reads(row_offset, stride[0], out_height, height)
            for kernel_col in range(kernel_width):
                col_offset = kernel_col * dilation[1] - pads["left"]
                col_first, col_end = reads(col_offset, stride[1], out_width, width)
                if row_first >= row_end or col_first >= col_end:
                    continue
                rows = slice(row_offset + stride[0] * row_first, row_offset + stride[0] * (row_end - 1) + 1, stride[0])
                cols = slice(col_offset + stride[1] * col_first, col_offset + stride[1] * (col_end - 1) + 1, stride[1])
                x_taps = x[:, in_slice, rows, cols]
                dy_taps = dy[:, out_slice, row_first:row_end, col_first:col_end]
                dw[out_slice, :, kernel_row, kernel_col] = np.einsum("nopq,ncpq->oc", dy_taps, x_taps)
                dx[:, in_slice, rows, cols] += np.einsum("nopq,oc->ncpq", dy_taps, w[out_slice, :, kernel_row, kernel_col])
    db = dy.sum(axis=(0, 2, 3))
    return round_to_dtype(dx, dtype), round_to_dtype(dw, dtype), round_to_dtype(db, dtype)


# The forward the backward belongs to, if you have one: y = conv(x, w), no bias,
# [N, Cout, OH, OW] as values of the fixture's dtype. It is checked against y.npy in
# fixtures that have it (forward.json, corpus 1.2.0 and later); return None to skip.
def conv2d_forward(x, w, stride, dilation, pads, groups, out_size, dtype=None):
    dtype = dtype or x.dtype.name
    x, w = (array.astype(np.float64) for array in (x, w))
    batch, _, height, width = x.shape
    out_channels, group_channels, kernel_height, kernel_width = w.shape
    out_height, out_width = out_size
    group_out_channels = out_channels // groups
    y = np.zeros((batch, out_channels, out_height, out_width))
    for group in range(groups):
        in_slice = slice(group * group_channels, (group + 1) * group_channels)
        out_slice = slice(group * group_out_channels, (group + 1) * group_out_channels)
        for kernel_row in range(kernel_height):
            for kernel_col in range(kernel_width):
                for out_row in range(out_height):
                    row = out_row * stride[0] + kernel_row * dilation[0] - pads["top"]
                    if not 0 <= row < height:
                        continue
                    # Output columns whose input column lies inside the input.
                    cols = np.arange(out_width) * stride[1] + kernel_col * dilation[1] - pads["left"]
                    inside = (cols >= 0) & (cols < width)
                    taps = x[:, in_slice, row, :][:, :, cols[inside]]
                    y[:, out_slice, out_row, inside] += np.einsum("ncq,oc->noq", taps, w[out_slice, :, kernel_row, kernel_col])
    return round_to_dtype(y, dtype)


# ---------------------------------------------------------------------------
# The tolerance rule, from fixture.json's numbers (docs/tolerance.md in the
# conv2d-backward-conformance repository). Keep this part as it is.
# ---------------------------------------------------------------------------
FLOAT64_UNIT_ROUNDOFF = 2.0**-53
NUMPY_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


def to_bfloat16(values):
    """The nearest bfloat16 values (8 significant bits, ties to even), as float32: rounded directly from float64."""
    a = np.asarray(values, dtype=np.float64)
    m, e = np.frexp(a)  # a = m * 2^e, 0.5 <= |m| < 1; np.rint rounds ties to even
    v = np.where(np.abs(a) < 2.0**-126, np.rint(a * 2.0**133) * 2.0**-133, np.ldexp(np.rint(m * 256), e - 8))
    with np.errstate(over="ignore"):
        return v.astype(np.float32)  # exact, or +-inf past bfloat16's (float32's) range


def round_to_dtype(values, dtype):
    """Values rounded to the fixture's dtype (bfloat16 as float32 arrays holding bfloat16 values)."""
    if dtype == "bfloat16":
        return to_bfloat16(values)
    with np.errstate(over="ignore"):
        return np.asarray(values).astype(NUMPY_DTYPES[dtype])


def gamma(k, u):
    """gamma_k(u) = k*u / (1 - k*u); infinite once k*u >= 1."""
    ku = k * u
    return float("inf") if ku >= 1 else ku / (1 - ku)


def error_bound(expected, magnitude, accumulation_length, unit_roundoff, underflow_spacing):
    """(gamma_k(u) + 2*gamma_k(2^-53))*M + u*|expected| + (k+1)*eta, with k at least 1 and the M term 0 where M = 0."""
    k = max(1, accumulation_length)
    magnitude_factor = gamma(k, unit_roundoff) + 2 * gamma(k, FLOAT64_UNIT_ROUNDOFF)
    with np.errstate(invalid="ignore"):
        magnitude_term = np.where(magnitude == 0, 0.0, magnitude_factor * magnitude)
    return magnitude_term + unit_roundoff * np.abs(expected) + (k + 1) * underflow_spacing


def failing_elements(got, expected, magnitude, rule, dtype, accumulation_length, unit_roundoff, underflow_spacing):
    """Boolean array: True where `got` (values of `dtype`) does not match `expected` (float64)."""
    got = np.asarray(got, dtype=np.float64)
    finite = np.isfinite(expected) & np.isfinite(got)
    # NaN matches only NaN, an infinity only the same infinity, a finite value never a non-finite one.
    special_match = np.where(np.isnan(expected), np.isnan(got), expected == got)
    with np.errstate(over="ignore", invalid="ignore"):
        if rule == "exact":
            # Equal to the expected value rounded to the dtype (-0 == +0).
            finite_match = got == round_to_dtype(expected, dtype).astype(np.float64)
        else:
            bound = error_bound(expected, magnitude, accumulation_length, unit_roundoff, underflow_spacing)
            finite_match = ~(np.abs(got - expected) > bound)
    return ~np.where(finite, finite_match, special_match)


# ---------------------------------------------------------------------------
# The fixtures, one test each.
# ---------------------------------------------------------------------------
def fixture_ids():
    manifest = json.loads((FIXTURES / "manifest.json").read_text())
    entries = sorted(manifest["fixtures"], key=lambda entry: entry["id"])
    per_family = os.environ.get("CONV2D_FIXTURES_PER_FAMILY")
    if per_family:
        kept, counts = [], {}
        for entry in entries:
            counts[entry["family"]] = counts.get(entry["family"], 0) + 1
            if counts[entry["family"]] <= int(per_family):
                kept.append(entry)
        entries = kept
    return [entry["id"] for entry in entries]


def load(folder, meta, name):
    return np.load(folder / meta["files"][name]["path"], allow_pickle=False)


def load_input(folder, meta, name):
    """x, w or dy. bfloat16 is stored as its bits ('<u2'), the top half of a float32: widened exactly."""
    data = load(folder, meta, name)
    if meta["files"][name]["dtype"] == "bfloat16":
        return (data.astype(np.uint32) << 16).view(np.float32)
    return data


@pytest.mark.parametrize("fixture_id", fixture_ids())
def test_conv2d_backward(fixture_id):
    folder = FIXTURES / fixture_id
    meta = json.loads((folder / "fixture.json").read_text())
    params, tolerance = meta["params"], meta["tolerance"]
    x, w, dy = (load_input(folder, meta, name) for name in ("x", "w", "dy"))
    got = dict(zip(("dx", "dw", "db"), conv2d_backward(x, w, dy, params["stride"], params["dilation"], params["pads"], params["groups"], meta["dtype"])))

    checks = [(output, got[output], load(folder, meta, output), load(folder, meta, tolerance["outputs"][output]["magnitude"]), tolerance, tolerance["outputs"][output]) for output in ("dx", "dw", "db")]
    # y, when the fixture has it (forward.json: corpus 1.2.0 and later) and you have a forward.
    if (folder / "forward.json").exists():
        forward = json.loads((folder / "forward.json").read_text())
        y = conv2d_forward(x, w, params["stride"], params["dilation"], params["pads"], params["groups"], forward["shape"][2:], meta["dtype"])
        if y is not None:
            load_forward = lambda name: np.load(folder / forward["files"][name]["path"], allow_pickle=False)
            y_tolerance = forward["tolerance"]
            checks.append(("y", y, load_forward("y"), load_forward(y_tolerance["outputs"]["y"]["magnitude"]), y_tolerance, y_tolerance["outputs"]["y"]))

    problems = []
    for output, result, expected, magnitude, rules, output_rules in checks:
        result = np.asarray(result)
        if result.shape != expected.shape:
            problems.append(f"{output}: shape {result.shape}, expected {expected.shape}")
            continue
        k = output_rules["accumulationLength"]
        failing = failing_elements(result, expected, magnitude, rules["rule"], meta["dtype"], k, rules["unitRoundoff"], rules["underflowSpacing"])
        if failing.any():
            index = tuple(int(i) for i in np.argwhere(failing)[0])
            bound = error_bound(expected[index], magnitude[index], k, rules["unitRoundoff"], rules["underflowSpacing"])
            problems.append(
                f"{output}: {int(failing.sum())} of {failing.size} elements fail ({rules['rule']} rule); "
                f"first at {index}: got {float(result[index])!r}, expected {float(expected[index])!r}, bound {float(bound)!r}"
            )
    assert not problems, f"{fixture_id} ({meta['description']}):\n" + "\n".join(problems)
