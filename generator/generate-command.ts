/**
 * `npm run generate-fixtures [-- --out DIR --families exact,normal --seed N --seeds K]`
 * Regenerates the corpus (default: the bundled fixtures/ folder) atomically and
 * prints a summary. Exit status (cli/exit-codes.ts): 0 on success, 1 when a witness
 * disagrees or generation fails, 2 on usage errors (an --out that names a file
 * included). The bin file is cli/bin/generate-fixtures.ts.
 */
import cliProgress from 'cli-progress';
import { onStopSignal, type CliCommand, type CommandIo, type CommandResult } from '../cli/entry.js';
import { EXIT_OK, SIGNAL_EXIT_STATUS, type EndingSignal } from '../cli/exit-codes.js';
import { checkOutputFolder, commaList, integerInRange } from '../cli/options.js';
import { ConformanceError } from '../src/errors.js';
import { bundledCorpusDir } from '../src/paths.js';
import { DATA_FAMILIES, type DataFamily } from '../src/types.js';
import { generateCorpus, type GenerateSummary } from './generate.js';
import { createWitnesses } from './witnesses.js';

function parseFamilies(value: string): DataFamily[] {
  const families = value.split(',').map((family) => family.trim());
  for (const family of families) {
    if (!(DATA_FAMILIES as readonly string[]).includes(family)) {
      throw new ConformanceError('E_USAGE', `--families: unknown family '${family}'; expected a comma-separated list of ${DATA_FAMILIES.join(', ')}`, { family });
    }
  }
  return families as DataFamily[];
}

function formatSummary(summary: GenerateSummary): string {
  const families = Object.entries(summary.perFamily)
    .map(([family, count]) => `${family} ${count}`)
    .join(', ');
  const witnesses = Object.entries(summary.timings.witnessSeconds)
    .map(([name, seconds]) => `${name} ${seconds.toFixed(1)} s`)
    .join(', ');
  const { changes } = summary;
  const lines = [
    `wrote ${summary.fixtures} fixtures to ${summary.outDir} (corpus ${summary.corpusVersion}, digest ${summary.digest.slice(0, 16)}...)`,
    `  per family: ${families}`,
    `  total ${(summary.totalBytes / 1e6).toFixed(2)} MB in ${summary.seconds.toFixed(1)} s (oracle ${summary.timings.oracleSeconds.toFixed(1)} s, ${witnesses}, writing ${summary.timings.writingSeconds.toFixed(1)} s)`,
  ];
  if (changes.previousVersion !== null) {
    lines.push(`  against the previous corpus ${changes.previousVersion}: ${changes.added.length} added, ${changes.removed.length} removed, ${changes.changed.length} changed`);
  }
  return lines.join('\n');
}

/** The parsed options of generate-fixtures. */
export interface GenerateCommandOptions {
  out: string;
  cases?: string[];
  families?: DataFamily[];
  seed: number;
  seeds: number;
  allowVersionReuse: boolean;
}

/** Generate the corpus into options.out and print its summary. */
export async function runGenerate(options: GenerateCommandOptions, io: CommandIo): Promise<CommandResult<GenerateSummary | null>> {
  checkOutputFolder(options.out, '--out');
  const witnesses = await createWitnesses();
  const bar = io.stderr.isTTY === true ? new cliProgress.SingleBar({ stream: io.stderr as NodeJS.WriteStream, format: 'generating [{bar}] {value}/{total} {id}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  let lastLogged = 0;
  // The first SIGINT/SIGTERM stops before the next fixture and removes the temporary folder once
  // no write is in flight (removing it from the exit hook raced with writes still under way); a
  // second signal exits at once.
  const controller = new AbortController();
  let stoppedBy: EndingSignal | undefined;
  onStopSignal((signal) => {
    stoppedBy = signal;
    controller.abort(new Error(`stopped by ${signal}`));
  });
  try {
    const summary = await generateCorpus({
      signal: controller.signal,
      outDir: options.out,
      cases: options.cases,
      families: options.families,
      baseSeed: options.seed,
      seedCount: options.seeds,
      allowVersionReuse: options.allowVersionReuse,
      witnesses,
      onFixture: (plan, done, total) => {
        if (bar) {
          if (done === 1) bar.start(total, 0, { id: '' });
          bar.update(done, { id: plan.id });
        } else if (done === total || done - lastLogged >= 50) {
          lastLogged = done;
          io.stderr.write(`generated ${done}/${total} (${plan.id})\n`);
        }
      },
    });
    bar?.stop();
    io.stdout.write(`${formatSummary(summary)}\n`);
    return { status: EXIT_OK, data: summary };
  } catch (error) {
    if (stoppedBy === undefined) throw error;
    bar?.stop();
    io.stderr.write(`generate-fixtures: stopped by ${stoppedBy}; temporary folder removed, ${options.out} left as it was\n`);
    return { status: SIGNAL_EXIT_STATUS[stoppedBy], data: null };
  } finally {
    onStopSignal(undefined);
    bar?.stop();
    await Promise.all(witnesses.map((witness) => witness.dispose()));
  }
}

export const generateCommand: CliCommand = {
  name: 'generate-fixtures',
  description: 'Generate the Conv2d backward golden corpus (float64 oracle, witnessed by onnxruntime-node and TensorFlow.js)',
  define(program, { io, action }) {
    program
      .option('--out <dir>', 'corpus folder to (re)write', bundledCorpusDir())
      .option('--cases <list>', 'only these cases of generator/case-catalog.ts (comma-separated names)', commaList)
      .option('--families <list>', `only these data families (${DATA_FAMILIES.join(', ')})`, parseFamilies)
      .option('--seed <n>', 'mixed into every fixture seed; 0 gives the committed corpus', integerInRange('--seed', 'mixed into every fixture seed', 0, 0xffffffff), 0)
      .option('--seeds <k>', 'generate every fixture with k seeds (ids get -s1, -s2, ...), e.g. for a larger benchmark corpus', integerInRange('--seeds', 'seeds per fixture', 1, 1000), 1)
      .option('--allow-version-reuse', 'write a corpus whose content differs from the one in --out under the same corpus version (scratch folders only)', false)
      .addHelpText('after', '\nExit status: 0 written; 1 a witness disagrees or generation fails; 2 usage errors; 130 SIGINT; 143 SIGTERM.')
      .action(action((options: GenerateCommandOptions) => runGenerate(options, io)));
  },
};
