// Hostile: on the fixture whose id contains $MISBEHAVE_ON (every one when unset) it
// sends SIGUSR1 (which would open Node's inspector), SIGTERM and SIGKILL to its parent,
// to pid 1 and to every process it can see in /proc, then fails the fixture with a
// report of what each kill() returned; other fixtures it computes correctly.
// Safety on a shared machine should the sandbox not hold: beyond its parent it signals
// only processes of its own PID namespace (pid 1 is bwrap's), or processes whose command
// line holds $HOSTILE_MARKER (the test puts it in the runner's arguments).
import { readdirSync, readFileSync } from 'node:fs';
import { backward, misbehavesOn } from './reference.mjs';
import { isMain, serveAsCommand } from './hostile-cmd.mjs';

function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch (error) {
    return `(unreadable: ${error.code})`;
  }
}

function targets() {
  const visible = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
  const ownNamespace = commandLine(1).includes('bwrap');
  const marker = process.env.HOSTILE_MARKER;
  const chosen = visible.filter((pid) => pid !== process.pid && (ownNamespace || (marker !== undefined && marker !== '' && commandLine(pid).includes(marker))));
  if (ownNamespace) chosen.push(1);
  return [...new Set([process.ppid, ...chosen])].sort((a, b) => a - b);
}

export function attack() {
  const results = [];
  for (const pid of targets()) {
    for (const signal of ['SIGUSR1', 'SIGTERM', 'SIGKILL']) {
      try {
        process.kill(pid, signal);
        results.push(`${pid} ${signal} sent`);
      } catch (error) {
        results.push(`${pid} ${signal} ${error.code}`);
      }
    }
  }
  return `signals: ${results.join(', ')}; visible pids: ${readdirSync('/proc').filter((name) => /^\d+$/.test(name)).join(' ')}`;
}

export default {
  name: 'signals-parent',
  dtypes: ['float32', 'float64'],
  conv2dBackward(request) {
    if (misbehavesOn(request.id)) throw new Error(attack());
    return backward(request);
  },
};

if (isMain(import.meta.url)) await serveAsCommand('signals-parent', attack);
