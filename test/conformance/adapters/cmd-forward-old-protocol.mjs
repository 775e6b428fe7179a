// A cmd: program (run with node) whose protocol 1.1 handshake declares "forward": true,
// which needs 1.2: an adapter-load error.
process.stdout.write(`${JSON.stringify({ protocol: 'conv2d-backward-conformance/1.1', name: 'forward-on-1.1', forward: true })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
