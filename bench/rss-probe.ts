/**
 * Preloaded by the benchmark into the processes it measures (`node --import
 * <this file>`): when the process exits, it appends one JSON line with its peak
 * resident set size to the file named by BENCH_RSS_FILE. A module adapter's
 * child process inherits the flag through fork()'s default execArgv, so the
 * runner and its adapter process each report themselves.
 *
 * Nothing happens when BENCH_RSS_FILE is not set.
 */
import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface RssRecord {
  pid: number;
  /** The script the process ran, e.g. 'conformance-runner.js' or 'adapter-child.js'. */
  script: string;
  /** Peak resident set size over the process's life (getrusage ru_maxrss), in MB (2^20 bytes). */
  peakRssMB: number;
}

const target = process.env.BENCH_RSS_FILE;
if (target !== undefined && target !== '') {
  process.on('exit', () => {
    const record: RssRecord = {
      pid: process.pid,
      script: basename(process.argv[1] ?? ''),
      // resourceUsage().maxRSS is in kilobytes (KiB on Linux).
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    };
    // One short line per process, appended with O_APPEND: lines of several processes do not interleave.
    appendFileSync(target, `${JSON.stringify(record)}\n`);
  });
}
