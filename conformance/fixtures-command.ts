/**
 * conv2d-fixtures: take the golden corpus into other projects.
 *
 *   conv2d-fixtures pack [--fixtures DIR] [--out FILE]     reproducible conv2d-backward-fixtures-<version>.tar.gz + .sha256
 *   conv2d-fixtures verify [DIR]                           manifest, checksums, every fixture loaded
 *   conv2d-fixtures fetch SOURCE --dest DIR [--sha256 HEX] download or read an archive, check it, install it
 *   conv2d-fixtures path                                   print the folder of the corpus bundled with this package
 *
 * Exit status (cli/exit-codes.ts): 0 ok; 1 a corpus or archive that does not verify, a failed
 * download, a refused archive or destination (the command's answer, returned as a `refused`
 * result); 2 usage errors (a --dest that is not nothing, an empty folder or a corpus included);
 * 130 / 143 SIGINT / SIGTERM (a fetch stops, removes its temporary files and leaves --dest as it was). Results go to stdout, progress and errors
 * to stderr. The bin file is cli/bin/conv2d-fixtures.ts.
 */
import { Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { onStopSignal, type CliCommand, type CommandIo, type CommandResult } from '../cli/entry.js';
import { EXIT_FAILED, EXIT_OK, SIGNAL_EXIT_STATUS, type EndingSignal } from '../cli/exit-codes.js';
import { secondsAsMilliseconds } from '../cli/options.js';
import { packCorpus, type PackResult } from '../src/corpus-archive.js';
import { fetchCorpus, redactSource, type FetchProgress, type FetchResult } from '../src/corpus-fetch.js';
import { ConformanceError, describeValue, isConformanceError } from '../src/errors.js';
import { checkCorpus, type CorpusProblem } from '../src/manifest.js';
import { checkCorpusPin, type PinCheck } from '../src/corpus-pinning.js';
import { bundledCorpusDir } from '../src/paths.js';
import { resolve } from 'node:path';

const NAME = 'conv2d-fixtures';

type Output = CommandIo;

/** A corpus or archive that did not hold: the answer of pack, verify or fetch when it is "no". */
export interface Refusal {
  status: 'refused';
  message: string;
  code?: ConformanceError['code'];
}

function sha256Option(text: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new ConformanceError('E_USAGE', `--sha256: expected 64 hexadecimal digits, found ${describeValue(text)}`, { text });
  return text.toLowerCase();
}

/**
 * Run `work`; a ConformanceError other than a usage error is this command's answer "no":
 * printed as `conv2d-fixtures: <message>` and returned with status 1.
 */
async function refusingOnError<T>(output: Output, work: () => Promise<CommandResult<T>>): Promise<CommandResult<T | Refusal>> {
  try {
    return await work();
  } catch (error) {
    if (!isConformanceError(error) || error.code === 'E_USAGE') throw error;
    output.stderr.write(`${NAME}: ${error.message}\n`);
    return { status: EXIT_FAILED, data: { status: 'refused', message: error.message, code: error.code } };
  }
}

/** `pack`: a reproducible archive of a corpus that verifies. */
export function runPack(options: { fixtures?: string; out?: string }, output: Output): Promise<CommandResult<PackResult | Refusal>> {
  return refusingOnError(output, async () => {
    const corpusDir = options.fixtures ?? bundledCorpusDir();
    const result = await packCorpus(corpusDir, { out: options.out });
    output.stdout.write(
      `wrote ${result.file} (${result.bytes} bytes; corpus ${result.corpusVersion}, ${result.fixtureCount} fixtures, ${result.entries} entries)\n` +
        `sha256 ${result.sha256} (also in ${result.sha256File})\n`,
    );
    return { status: EXIT_OK, data: result };
  });
}

/** What `verify` found: the problems (none when the corpus is intact). */
export interface VerifyOutcome {
  corpusDir: string;
  problems: CorpusProblem[];
  /** The manifest's digest against the one recorded in the package (absent when the corpus does not verify). */
  pin?: PinCheck;
}

/** `verify`: every problem of a corpus, listed; status 1 when there is one. */
export async function runVerify(dir: string | undefined, output: Output): Promise<CommandResult<VerifyOutcome>> {
  const corpusDir = dir ?? bundledCorpusDir();
  const bundled = resolve(corpusDir) === bundledCorpusDir();
  // The one corpus verifier (also the runner's); every file read once, the manifest included.
  const { manifest, problems } = await checkCorpus(corpusDir, { tensors: 'decode' });
  if (problems.length > 0 || manifest === null) {
    output.stdout.write(`FAILED ${corpusDir}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
    for (const problem of problems) output.stdout.write(`  ${problem.path}: ${problem.problem}\n`);
    return { status: EXIT_FAILED, data: { corpusDir, problems } };
  }
  const files = manifest.fixtures.reduce((sum, entry) => sum + Object.keys(entry.files).length, 0);
  // The checksums agree with the manifest; the manifest's digest must also be the one the package recorded.
  const pin = checkCorpusPin(manifest, { bundled });
  if (pin.status === 'mismatch') {
    output.stdout.write(`FAILED ${corpusDir}: ${pin.message}\n`);
    return { status: EXIT_FAILED, data: { corpusDir, problems, pin } };
  }
  output.stdout.write(`OK ${corpusDir}: corpus ${manifest.corpusVersion}, ${manifest.fixtureCount} fixtures, ${files} files verified and loaded, digest ${manifest.digest}\n`);
  output.stdout.write(`${pin.message}\n`);
  return { status: EXIT_OK, data: { corpusDir, problems, pin } };
}

/** Progress on stderr: a bar on a terminal, a line per phase otherwise. */
function fetchProgress(stream: Output['stderr'], source: string): { onProgress: (progress: FetchProgress) => void; stop: () => void } {
  let bar: SingleBar | undefined;
  let phase: FetchProgress['phase'] | undefined;
  const stop = (): void => {
    bar?.stop();
    bar = undefined;
  };
  const onProgress = (progress: FetchProgress): void => {
    if (progress.phase === 'download') {
      if (phase !== 'download') {
        phase = 'download';
        if (stream.isTTY === true && progress.totalBytes !== undefined) {
          bar = new SingleBar({ stream: stream as NodeJS.WriteStream, format: 'download [{bar}] {percentage}% | {value}/{total} bytes', hideCursor: true, clearOnComplete: true });
          bar.start(progress.totalBytes, 0);
        } else {
          stream.write(`downloading ${redactSource(source)}${progress.totalBytes === undefined ? '' : ` (${progress.totalBytes} bytes)`}\n`);
        }
      }
      bar?.update(progress.bytes ?? 0);
      return;
    }
    stop();
    phase = progress.phase;
    stream.write(`${progress.phase === 'unpack' ? 'unpacking' : progress.phase === 'verify' ? 'verifying the corpus' : 'installing'}\n`);
  };
  return { onProgress, stop };
}

/** `fetch`: download or read an archive, check it, install its corpus. SIGINT/SIGTERM stop it cleanly. */
export function runFetch(source: string, options: { dest: string; sha256?: string; timeout?: number }, output: Output): Promise<CommandResult<FetchResult | Refusal>> {
  // The first SIGINT/SIGTERM stops the fetch, which removes its temporary files; a second one exits
  // at once (the temporaries still tracked are removed on exit: src/atomic-write.ts).
  const controller = new AbortController();
  let stoppedBy: EndingSignal | undefined;
  onStopSignal((signal) => {
    stoppedBy = signal;
    controller.abort(new Error(`interrupted by ${signal}`));
  });
  return refusingOnError<FetchResult | Refusal>(output, async () => {
    const progress = fetchProgress(output.stderr, source);
    try {
      const result = await fetchCorpus(source, options.dest, { sha256: options.sha256, onProgress: progress.onProgress, timeoutMs: options.timeout, signal: controller.signal });
      progress.stop();
      output.stdout.write(
        `installed corpus ${result.corpusVersion} (${result.fixtureCount} fixtures, digest ${result.digest}) into ${result.dest}\n` +
          `archive ${result.source}: ${result.archiveBytes} bytes, sha256 ${result.sha256}\n`,
      );
      return { status: EXIT_OK, data: result };
    } catch (error) {
      if (stoppedBy === undefined) throw error;
      progress.stop();
      const message = `${(error as Error).message}; temporary files removed, ${options.dest} left as it was`;
      output.stderr.write(`${NAME}: ${message}\n`);
      return { status: SIGNAL_EXIT_STATUS[stoppedBy], data: { status: 'refused' as const, message, code: 'E_FETCH' as const } };
    } finally {
      progress.stop();
      onStopSignal(undefined);
    }
  });
}

export const fixturesCommand: CliCommand = {
  name: NAME,
  description: 'Pack, verify, fetch and locate the Conv2d backward golden fixture corpus.',
  define(program, { io: output, action }) {
    program.addHelpText('after', '\nExit status: 0 ok; 1 a corpus or archive refused; 2 usage errors; 130 SIGINT; 143 SIGTERM.');

    program
      .command('pack')
      .description('Write a reproducible conv2d-backward-fixtures-<version>.tar.gz of a corpus (verified first) and its .sha256.')
      .option('--fixtures <dir>', 'corpus folder (default: the corpus bundled with this package)')
      .option('--out <file>', 'archive path, or an existing folder to put it in (default: ./conv2d-backward-fixtures-<version>.tar.gz)')
      .action(action((options: { fixtures?: string; out?: string }) => runPack(options, output)));

    program
      .command('verify')
      .description('Check a corpus folder: manifest, every file against its sha256, every fixture loaded. Exit 0 when intact, 1 otherwise.')
      .argument('[dir]', 'corpus folder (default: the corpus bundled with this package)')
      .action(action((dir: string | undefined) => runVerify(dir, output)));

    program
      .command('fetch')
      .description('Download (http/https) or read (local path) a corpus archive, check it, and install its corpus into DIR. DIR is replaced only after the whole corpus verified.')
      .argument('<source>', 'http(s) URL, file: URL, or path of a conv2d-backward-fixtures-<version>.tar.gz')
      .requiredOption('--dest <dir>', 'folder to install the corpus into (missing, empty, or a previous corpus)')
      .option('--sha256 <hex>', 'expected sha256 of the archive (the content of its .sha256 file)', sha256Option)
      .addOption(new Option('--timeout <seconds>', 'give up on a download after this long').argParser(secondsAsMilliseconds('--timeout')))
      .action(action((source: string, options: { dest: string; sha256?: string; timeout?: number }) => runFetch(source, options, output)));

    program
      .command('path')
      .description('Print the folder of the corpus bundled with this package (for tests in other languages).')
      .action(
        action(() => {
          const dir = bundledCorpusDir();
          output.stdout.write(`${dir}\n`);
          return { status: EXIT_OK, data: dir };
        }),
      );
  },
};
