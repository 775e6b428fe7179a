/**
 * `--version`, `-V`, `help` and `--help` answer for every command (issue 10), before any
 * required option is checked: exit 0, the answer on stdout, nothing on stderr.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../conformance/run-cli.js';
import { COMMANDS, runBin, type CommandName } from './bin-run.js';

const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** An option each command's help must list: its help is its own, not another command's. */
const OWN_OPTION: Record<CommandName, string> = {
  'conformance-runner': '--impl <adapter>',
  'conv2d-fixtures': 'fetch [options] <source>',
  'generate-fixtures': '--families <list>',
  'emit-schemas': '--check',
  'self-test': '--gaps',
  bench: '--quick',
};

for (const name of COMMANDS) {
  t.test(`${name}: --version and -V print the package version`, async (t) => {
    for (const flag of ['--version', '-V']) {
      const run = await runBin(name, [flag]);
      t.equal(run.code, 0, `${flag}: exit 0`);
      t.equal(run.stdout, `${version}\n`, `${flag}: the version from package.json`);
      t.equal(run.stderr, '', `${flag}: nothing on stderr`);
    }
  });

  t.test(`${name}: help and --help print its usage`, async (t) => {
    for (const args of [['help'], ['--help']]) {
      const run = await runBin(name, args);
      t.equal(run.code, 0, `${args.join(' ')}: exit 0`);
      t.match(run.stdout, `Usage: ${name} [options]`, `${args.join(' ')}: usage on stdout`);
      t.match(run.stdout, OWN_OPTION[name], `${args.join(' ')}: lists ${OWN_OPTION[name]}`);
      t.match(run.stdout, '-V, --version', `${args.join(' ')}: lists --version`);
      t.equal(run.stderr, '', `${args.join(' ')}: nothing on stderr`);
    }
  });
}

t.test('conformance-runner: --version and help win over the required --impl', async (t) => {
  for (const args of [['--fixtures', 'nowhere', '--version'], ['--verbose', '--help']]) {
    const run = await runBin('conformance-runner', args);
    t.equal(run.code, 0, args.join(' '));
    t.notMatch(run.stderr, 'required option', args.join(' '));
  }
});

t.test('conv2d-fixtures: every subcommand answers help SUB; fetch --help and fetch --version answer too', async (t) => {
  const descriptions: Record<string, string> = {
    pack: 'Write a reproducible',
    verify: 'Check a corpus folder',
    fetch: 'Download (http/https)',
    path: 'Print the folder of the corpus',
  };
  for (const [subcommand, description] of Object.entries(descriptions)) {
    const run = await runBin('conv2d-fixtures', ['help', subcommand]);
    t.equal(run.code, 0, `help ${subcommand}: exit 0`);
    t.match(run.stdout, `Usage: conv2d-fixtures ${subcommand}`, `help ${subcommand}: its usage`);
    t.match(run.stdout, description, `help ${subcommand}: its description`);
  }
  const helpRun = await runBin('conv2d-fixtures', ['fetch', '--help']);
  t.equal(helpRun.code, 0, 'fetch --help: exit 0');
  t.match(helpRun.stdout, `Usage: conv2d-fixtures fetch [options] <source>`, 'fetch --help: its usage');
  const versionRun = await runBin('conv2d-fixtures', ['fetch', '--version']);
  t.equal(versionRun.code, 0, 'fetch --version: exit 0');
  t.equal(versionRun.stdout, `${version}\n`, 'fetch --version: the version');
});
