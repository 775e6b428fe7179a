#!/usr/bin/env node
/**
 * conv2d-fixtures: take the golden corpus into other projects.
 *
 *   conv2d-fixtures pack [--fixtures DIR] [--out FILE]     reproducible conv2d-backward-fixtures-<version>.tar.gz + .sha256
 *   conv2d-fixtures verify [DIR]                           manifest, checksums, every fixture loaded
 *   conv2d-fixtures fetch SOURCE --dest DIR [--sha256 HEX] download or read an archive, check it, install it
 *   conv2d-fixtures path                                   print the folder of the corpus bundled with this package
 *
 * Exit status: 0 ok; 1 a corpus or archive that does not verify, a failed
 * download, a refused archive; 2 usage errors (a --dest that is not nothing, an
 * empty folder or a corpus included); 130 / 143 a fetch stopped by SIGINT /
 * SIGTERM (its temporary files removed). Results go to stdout, progress and
 * errors to stderr.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { packCorpus } from '../src/corpus-archive.js';
import { fetchCorpus, redactSource, type FetchProgress } from '../src/corpus-fetch.js';
import { describeValue, isConformanceError } from '../src/errors.js';
import { loadManifest, verifyCorpus } from '../src/manifest.js';
import { bundledCorpusDir } from '../src/paths.js';
import { checkCorpusPin } from '../src/corpus-pinning.js';
import { resolve } from 'node:path';

const NAME = 'conv2d-fixtures';

interface Output {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

function positiveSeconds(text: string): number {
  const value = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(value > 0)) throw new InvalidArgumentError(`expected a positive number of seconds, found ${describeValue(text)}`);
  return value;
}

function sha256Option(text: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new InvalidArgumentError(`expected 64 hexadecimal digits, found ${describeValue(text)}`);
  return text.toLowerCase();
}

async function runPack(options: { fixtures?: string; out?: string }, output: Output): Promise<number> {
  const corpusDir = options.fixtures ?? bundledCorpusDir();
  const result = await packCorpus(corpusDir, { out: options.out });
  output.stdout.write(
    `wrote ${result.file} (${result.bytes} bytes; corpus ${result.corpusVersion}, ${result.fixtureCount} fixtures, ${result.entries} entries)\n` +
      `sha256 ${result.sha256} (also in ${result.sha256File})\n`,
  );
  return 0;
}

async function runVerify(dir: string | undefined, output: Output): Promise<number> {
  const corpusDir = dir ?? bundledCorpusDir();
  const bundled = resolve(corpusDir) === bundledCorpusDir();
  const problems = await verifyCorpus(corpusDir, { deep: true });
  if (problems.length > 0) {
    output.stdout.write(`FAILED ${corpusDir}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
    for (const problem of problems) output.stdout.write(`  ${problem.path}: ${problem.problem}\n`);
    return 1;
  }
  const manifest = await loadManifest(corpusDir);
  const files = manifest.fixtures.reduce((sum, entry) => sum + Object.keys(entry.files).length, 0);
  // The checksums agree with the manifest; the manifest's digest must also be the one the package recorded.
  const pin = checkCorpusPin(manifest, { bundled });
  if (pin.status === 'mismatch') {
    output.stdout.write(`FAILED ${corpusDir}: ${pin.message}\n`);
    return 1;
  }
  output.stdout.write(`OK ${corpusDir}: corpus ${manifest.corpusVersion}, ${manifest.fixtureCount} fixtures, ${files} files verified and loaded, digest ${manifest.digest}\n`);
  output.stdout.write(`${pin.message}\n`);
  return 0;
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

/** Exit statuses for the signals a fetch is stopped by (128 + the signal's number). */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

async function runFetch(source: string, options: { dest: string; sha256?: string; timeout?: number }, output: Output): Promise<number> {
  const progress = fetchProgress(output.stderr, source);
  // SIGINT/SIGTERM stop the fetch, which removes its temporary files; a second signal exits at once
  // (the temporaries still tracked are removed on exit: src/atomic-write.ts).
  const controller = new AbortController();
  let stoppedBy: keyof typeof SIGNAL_EXIT_CODES | undefined;
  const onSignal = (name: keyof typeof SIGNAL_EXIT_CODES): void => {
    if (stoppedBy !== undefined) process.exit(SIGNAL_EXIT_CODES[stoppedBy]);
    stoppedBy = name;
    controller.abort(new Error(`interrupted by ${name}`));
  };
  const handlers = { SIGINT: () => onSignal('SIGINT'), SIGTERM: () => onSignal('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  try {
    const result = await fetchCorpus(source, options.dest, {
      sha256: options.sha256,
      onProgress: progress.onProgress,
      timeoutMs: options.timeout === undefined ? undefined : Math.round(options.timeout * 1000),
      signal: controller.signal,
    });
    progress.stop();
    output.stdout.write(
      `installed corpus ${result.corpusVersion} (${result.fixtureCount} fixtures, digest ${result.digest}) into ${result.dest}\n` +
        `archive ${result.source}: ${result.archiveBytes} bytes, sha256 ${result.sha256}\n`,
    );
    return 0;
  } catch (error) {
    if (stoppedBy === undefined) throw error;
    progress.stop();
    output.stderr.write(`${NAME}: ${(error as Error).message}; temporary files removed, ${options.dest} left as it was\n`);
    return SIGNAL_EXIT_CODES[stoppedBy];
  } finally {
    progress.stop();
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGTERM', handlers.SIGTERM);
  }
}

function buildProgram(output: Output, setExitCode: (code: number) => void): Command {
  const program = new Command(NAME)
    .description('Pack, verify, fetch and locate the Conv2d backward golden fixture corpus.')
    .configureOutput({ writeOut: (text) => output.stdout.write(text), writeErr: (text) => output.stderr.write(text) })
    .showHelpAfterError(`(run ${NAME} --help for usage)`)
    .exitOverride();

  program
    .command('pack')
    .description('Write a reproducible conv2d-backward-fixtures-<version>.tar.gz of a corpus (verified first) and its .sha256.')
    .option('--fixtures <dir>', 'corpus folder (default: the corpus bundled with this package)')
    .option('--out <file>', 'archive path, or an existing folder to put it in (default: ./conv2d-backward-fixtures-<version>.tar.gz)')
    .action(async (options: { fixtures?: string; out?: string }) => setExitCode(await runPack(options, output)));

  program
    .command('verify')
    .description('Check a corpus folder: manifest, every file against its sha256, every fixture loaded. Exit 0 when intact, 1 otherwise.')
    .argument('[dir]', 'corpus folder (default: the corpus bundled with this package)')
    .action(async (dir: string | undefined) => setExitCode(await runVerify(dir, output)));

  program
    .command('fetch')
    .description('Download (http/https) or read (local path) a corpus archive, check it, and install its corpus into DIR. DIR is replaced only after the whole corpus verified.')
    .argument('<source>', 'http(s) URL, file: URL, or path of a conv2d-backward-fixtures-<version>.tar.gz')
    .requiredOption('--dest <dir>', 'folder to install the corpus into (missing, empty, or a previous corpus)')
    .option('--sha256 <hex>', 'expected sha256 of the archive (the content of its .sha256 file)', sha256Option)
    .addOption(new Option('--timeout <seconds>', 'give up on a download after this long').argParser(positiveSeconds))
    .action(async (source: string, options: { dest: string; sha256?: string; timeout?: number }) => setExitCode(await runFetch(source, options, output)));

  program
    .command('path')
    .description('Print the folder of the corpus bundled with this package (for tests in other languages).')
    .action(() => {
      output.stdout.write(`${bundledCorpusDir()}\n`);
      setExitCode(0);
    });

  return program;
}

/** Run the CLI on `argv` (process.argv form); returns the exit status. */
export async function main(argv: string[], output: Output = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let exitCode = 0;
  const program = buildProgram(output, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message. Help asked for (--help, `help [command]`) and --version
      // exit 0; help shown because no command was given, like every parse error, has exitCode 1:
      // a usage error. ('commander.help' covers both the `help` command and the missing command.)
      return error.exitCode === 0 ? 0 : 2;
    }
    if (isConformanceError(error)) {
      output.stderr.write(`${NAME}: ${error.message}\n`);
      return error.code === 'E_USAGE' ? 2 : 1;
    }
    // File-system errors (no such folder for --out, permissions...) explain themselves; others get their stack.
    const systemError = error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
    const message = error instanceof Error ? (systemError ? error.message : (error.stack ?? error.message)) : describeValue(error);
    output.stderr.write(`${NAME}: ${systemError ? '' : 'unexpected error: '}${message}\n`);
    return 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${NAME}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
