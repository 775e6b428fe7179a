#!/usr/bin/env node
/**
 * `npm run generate-fixtures [-- --out DIR --families exact,normal --seed N --seeds K]`
 * Regenerates the corpus (default: the bundled fixtures/ folder) atomically and
 * prints a summary. Exit 0 on success, 1 when a witness disagrees or generation
 * fails, 2 on usage errors.
 */
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { isConformanceError } from '../src/errors.js';
import { bundledCorpusDir } from '../src/paths.js';
import { DATA_FAMILIES, type DataFamily } from '../src/types.js';
import { generateCorpus, type GenerateSummary } from './generate.js';
import { createWitnesses } from './witnesses/create-witnesses.js';

function parseFamilies(value: string): DataFamily[] {
  const families = value.split(',').map((family) => family.trim());
  for (const family of families) {
    if (!(DATA_FAMILIES as readonly string[]).includes(family)) {
      throw new InvalidArgumentError(`unknown family '${family}'; expected a comma-separated list of ${DATA_FAMILIES.join(', ')}`);
    }
  }
  return families as DataFamily[];
}

function parseWholeNumber(minimum: number, maximum: number) {
  return (value: string): number => {
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < minimum || number > maximum) {
      throw new InvalidArgumentError(`expected a whole number from ${minimum} to ${maximum}, found '${value}'`);
    }
    return number;
  };
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

async function main(): Promise<number> {
  const program = new Command()
    .name('generate-fixtures')
    .description('Generate the Conv2d backward golden corpus (float64 oracle, witnessed by onnxruntime-node and TensorFlow.js)')
    .option('--out <dir>', 'corpus folder to (re)write', bundledCorpusDir())
    .option('--cases <list>', 'only these cases of generator/case-catalog.ts (comma-separated names)', (value: string) => value.split(',').map((name) => name.trim()))
    .option('--families <list>', `only these data families (${DATA_FAMILIES.join(', ')})`, parseFamilies)
    .option('--seed <n>', 'mixed into every fixture seed; 0 gives the committed corpus', parseWholeNumber(0, 0xffffffff), 0)
    .option('--seeds <k>', 'generate every fixture with k seeds (ids get -s1, -s2, ...), e.g. for a larger benchmark corpus', parseWholeNumber(1, 1000), 1)
    .option('--allow-version-reuse', 'write a corpus whose content differs from the one in --out under the same corpus version (scratch folders only)', false)
    .exitOverride();
  try {
    program.parse();
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode;
    return code === 0 ? 0 : 2;
  }
  const options = program.opts<{ out: string; cases?: string[]; families?: DataFamily[]; seed: number; seeds: number; allowVersionReuse: boolean }>();

  const witnesses = await createWitnesses();
  const bar = process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'generating [{bar}] {value}/{total} {id}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  let lastLogged = 0;
  try {
    const summary = await generateCorpus({
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
          process.stderr.write(`generated ${done}/${total} (${plan.id})\n`);
        }
      },
    });
    bar?.stop();
    process.stdout.write(`${formatSummary(summary)}\n`);
    return 0;
  } catch (error) {
    bar?.stop();
    if (isConformanceError(error)) {
      process.stderr.write(`generate-fixtures: ${error.message}\n`);
      return error.code === 'E_USAGE' ? 2 : 1;
    }
    throw error;
  } finally {
    await Promise.all(witnesses.map((witness) => witness.dispose()));
  }
}

// Ctrl-C / kill: exit through process.exit, so that the temporary corpus folder is removed on the way out (src/atomic-write.ts).
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`generate-fixtures: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
