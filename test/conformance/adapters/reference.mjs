// A plain, correct Conv2d backward for test adapters, in any of the layouts the
// runner supports. Sums in float64, stores in the request's dtype (float32 or float64).
// Index formulas are written out per layout (independent of conformance/layout.ts).

function activationIndexer(layout, [batch, channels, height, width]) {
  if (layout === 'NHWC') return (n, c, h, w) => ((n * height + h) * width + w) * channels + c;
  return (n, c, h, w) => ((n * channels + c) * height + h) * width + w;
}

function filterIndexer(layout, [outChannels, inPerGroup, kernelHeight, kernelWidth]) {
  if (layout === 'HWIO') return (o, i, kh, kw) => ((kh * kernelWidth + kw) * inPerGroup + i) * outChannels + o;
  if (layout === 'OHWI') return (o, i, kh, kw) => ((o * kernelHeight + kh) * kernelWidth + kw) * inPerGroup + i;
  return (o, i, kh, kw) => ((o * inPerGroup + i) * kernelHeight + kh) * kernelWidth + kw;
}

/** Canonical [N, C, H, W] / [O, I, KH, KW] sizes from a shape in a layout. */
export function canonicalActivationShape(layout, shape) {
  return layout === 'NHWC' ? [shape[0], shape[3], shape[1], shape[2]] : [...shape];
}
export function canonicalFilterShape(layout, shape) {
  if (layout === 'HWIO') return [shape[3], shape[2], shape[0], shape[1]];
  if (layout === 'OHWI') return [shape[0], shape[3], shape[1], shape[2]];
  return [...shape];
}

export function backward(request, layout = 'NCHW', filterLayout = 'OIHW') {
  const { x, w, dy, params } = request;
  const [batch, inChannels, inHeight, inWidth] = canonicalActivationShape(layout, x.shape);
  const [outChannels, inPerGroup, kernelHeight, kernelWidth] = canonicalFilterShape(filterLayout, w.shape);
  const [, , outHeight, outWidth] = canonicalActivationShape(layout, dy.shape);
  const xAt = activationIndexer(layout, [batch, inChannels, inHeight, inWidth]);
  const dyAt = activationIndexer(layout, [batch, outChannels, outHeight, outWidth]);
  const wAt = filterIndexer(filterLayout, [outChannels, inPerGroup, kernelHeight, kernelWidth]);
  const outPerGroup = outChannels / params.groups;
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(outChannels);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outChannels; o++) {
      const group = Math.floor(o / outPerGroup);
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++) {
          const gradient = dy.data[dyAt(n, o, oh, ow)];
          db[o] += gradient;
          for (let i = 0; i < inPerGroup; i++) {
            const c = group * inPerGroup + i;
            for (let kh = 0; kh < kernelHeight; kh++) {
              const ih = oh * params.stride[0] + kh * params.dilation[0] - params.pads.top;
              if (ih < 0 || ih >= inHeight) continue;
              for (let kw = 0; kw < kernelWidth; kw++) {
                const iw = ow * params.stride[1] + kw * params.dilation[1] - params.pads.left;
                if (iw < 0 || iw >= inWidth) continue;
                dx[xAt(n, c, ih, iw)] += gradient * w.data[wAt(o, i, kh, kw)];
                dw[wAt(o, i, kh, kw)] += gradient * x.data[xAt(n, c, ih, iw)];
              }
            }
          }
        }
      }
    }
  }
  const Store = x.dtype === 'float64' ? Float64Array : Float32Array;
  return {
    dx: { dtype: x.dtype, shape: [...x.shape], data: Store.from(dx) },
    dw: { dtype: x.dtype, shape: [...w.shape], data: Store.from(dw) },
    db: { dtype: x.dtype, shape: [outChannels], data: Store.from(db) },
  };
}

/**
 * The forward the backward above belongs to: y = conv(x, w) + b (b [Cout], absent: no bias),
 * y in x's layout. Sums in float64, stores in the request's dtype (float32 or float64).
 */
export function forward(request, layout = 'NCHW', filterLayout = 'OIHW') {
  const { x, w, b, params } = request;
  const [batch, inChannels, inHeight, inWidth] = canonicalActivationShape(layout, x.shape);
  const [outChannels, inPerGroup, kernelHeight, kernelWidth] = canonicalFilterShape(filterLayout, w.shape);
  const outHeight = Math.floor((inHeight + params.pads.top + params.pads.bottom - params.dilation[0] * (kernelHeight - 1) - 1) / params.stride[0]) + 1;
  const outWidth = Math.floor((inWidth + params.pads.left + params.pads.right - params.dilation[1] * (kernelWidth - 1) - 1) / params.stride[1]) + 1;
  const xAt = activationIndexer(layout, [batch, inChannels, inHeight, inWidth]);
  const yAt = activationIndexer(layout, [batch, outChannels, outHeight, outWidth]);
  const wAt = filterIndexer(filterLayout, [outChannels, inPerGroup, kernelHeight, kernelWidth]);
  const outPerGroup = outChannels / params.groups;
  const y = new Float64Array(batch * outChannels * outHeight * outWidth);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outChannels; o++) {
      const group = Math.floor(o / outPerGroup);
      for (let oh = 0; oh < outHeight; oh++) {
        for (let ow = 0; ow < outWidth; ow++) {
          let sum = b === undefined ? 0 : b.data[o];
          for (let i = 0; i < inPerGroup; i++) {
            const c = group * inPerGroup + i;
            for (let kh = 0; kh < kernelHeight; kh++) {
              const ih = oh * params.stride[0] + kh * params.dilation[0] - params.pads.top;
              if (ih < 0 || ih >= inHeight) continue;
              for (let kw = 0; kw < kernelWidth; kw++) {
                const iw = ow * params.stride[1] + kw * params.dilation[1] - params.pads.left;
                if (iw < 0 || iw >= inWidth) continue;
                sum += x.data[xAt(n, c, ih, iw)] * w.data[wAt(o, i, kh, kw)];
              }
            }
          }
          y[yAt(n, o, oh, ow)] = sum;
        }
      }
    }
  }
  const Store = x.dtype === 'float64' ? Float64Array : Float32Array;
  const shape = layout === 'NHWC' ? [batch, outHeight, outWidth, outChannels] : [batch, outChannels, outHeight, outWidth];
  return { y: { dtype: x.dtype, shape, data: Store.from(y) } };
}

/** True when this fixture should misbehave: its id contains $MISBEHAVE_ON (every fixture when unset). */
export function misbehavesOn(id) {
  const pattern = process.env.MISBEHAVE_ON;
  return pattern === undefined || pattern === '' || id.includes(pattern);
}
