// Runs a hostile test adapter as a cmd: program: the handshake, then each backward
// request answered {"ok": false, "error": REPORT} with what `attack()` achieved (the
// test reads the report in the fixture's error). Used when a hostile adapter file is
// started as a program (`cmd:node FILE`) rather than loaded as a module.
import { createInterface } from 'node:readline';

export async function serveAsCommand(name, attack) {
  const write = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
  write({ protocol: 'conv2d-backward-conformance/1', name, dtypes: ['float32', 'float64'] });
  for await (const line of createInterface({ input: process.stdin })) {
    const request = JSON.parse(line);
    if (request.type === 'shutdown') return;
    write({ id: request.id, ok: false, error: await attack() });
  }
}

/** Whether this file was started as the program (node FILE), not imported. */
export function isMain(url) {
  return process.argv[1] !== undefined && new URL(url).pathname === process.argv[1];
}
