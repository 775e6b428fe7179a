// A complete browser adapter: db = dL/db of Conv2d as a WebGPU compute shader.
// Score it with
//
//   npx conformance-runner --impl browser:./webgpu-db-adapter.mjs
//
// The runner bundles this module (and whatever it imports, from its own folder and
// node_modules) with esbuild, loads it in a page of headless Chromium, calls init()
// once, then conv2dBackward() once per fixture with NCHW float32 tensors.
// One invocation per output element: db[o] = sum over n, oh, ow of dy[n, o, oh, ow].

export const DB_SHADER = /* wgsl */ `
struct Params { batch: u32, outChannels: u32, outHeight: u32, outWidth: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let o = id.x;
  if (o >= p.outChannels) { return; }
  var sum: f32 = 0.0;
  for (var n = 0u; n < p.batch; n++) {
    for (var oh = 0u; oh < p.outHeight; oh++) {
      for (var ow = 0u; ow < p.outWidth; ow++) {
        sum = sum + dy[((n * p.outChannels + o) * p.outHeight + oh) * p.outWidth + ow];
      }
    }
  }
  db[o] = sum;
}
`;

/** An adapter running `shader` (a db kernel with DB_SHADER's bindings). */
export function dbAdapter(shader) {
  let device;
  let pipeline;
  return {
    name: 'webgpu-db-example',
    layout: 'NCHW',
    dtypes: ['float32'],
    outputs: ['db'],

    async init() {
      const gpu = await navigator.gpu.requestAdapter();
      if (gpu === null) throw new Error('no WebGPU adapter');
      device = await gpu.requestDevice();
      pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: shader }), entryPoint: 'main' } });
    },

    dispose() {
      device?.destroy();
    },

    async conv2dBackward({ dy }) {
      const [batch, outChannels, outHeight, outWidth] = dy.shape;
      const buffer = (data, usage) => {
        const created = device.createBuffer({ size: Math.max(16, data.byteLength), usage: usage | GPUBufferUsage.COPY_DST });
        device.queue.writeBuffer(created, 0, data);
        return created;
      };
      const params = buffer(Uint32Array.from([batch, outChannels, outHeight, outWidth]), GPUBufferUsage.UNIFORM);
      const input = buffer(dy.data, GPUBufferUsage.STORAGE);
      const size = Math.max(16, outChannels * 4);
      const output = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      const readback = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [params, input, output].map((resource, binding) => ({ binding, resource: { buffer: resource } })),
      });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(Math.ceil(outChannels / 64));
      pass.end();
      encoder.copyBufferToBuffer(output, 0, readback, 0, size);
      device.queue.submit([encoder.finish()]);
      await readback.mapAsync(GPUMapMode.READ);
      const db = new Float32Array(readback.getMappedRange().slice(0, outChannels * 4));
      for (const used of [params, input, output, readback]) used.destroy();
      return { db: { dtype: 'float32', shape: [outChannels], data: db } };
    },
  };
}

export default dbAdapter(DB_SHADER);
