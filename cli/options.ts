/**
 * Parsers for the option types that several commands share, as commander
 * argParsers. A bad value throws ConformanceError E_USAGE worded by
 * src/option-checks.ts (`--jobs: expected a positive integer (...), found "-2"`),
 * which cli/entry.ts prints as `<command>: <message>` with exit status 2.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConformanceError, describeValue } from '../src/errors.js';
import { checkInteger, checkMilliseconds, MAX_TIMER_MS, TIMER_LIMIT_NOTE } from '../src/option-checks.js';

/** A whole number as typed (surrounding blanks allowed), or NaN. */
function wholeNumber(text: string): number {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
}

/** A positive integer: `--jobs <n>`. */
export function positiveInteger(option: string, meaning: string): (text: string) => number {
  return (text) => checkInteger(wholeNumber(text), option, meaning, { found: text });
}

/** An integer in [minimum, maximum]: `--seed <n>`. */
export function integerInRange(option: string, meaning: string, minimum: number, maximum: number): (text: string) => number {
  return (text) => checkInteger(wholeNumber(text), option, meaning, { minimum, maximum, found: text });
}

/** Milliseconds for a timer: a positive integer of at most MAX_TIMER_MS (2147483647). */
export function milliseconds(option: string, meaning: string): (text: string) => number {
  return (text) => checkMilliseconds(wholeNumber(text), option, meaning, text);
}

/** Seconds for a timer, fractions allowed, returned as whole milliseconds (at least 1, at most MAX_TIMER_MS). */
export function secondsAsMilliseconds(option: string): (text: string) => number {
  return (text) => {
    const seconds = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
    if (!(seconds > 0) || seconds * 1000 > MAX_TIMER_MS) {
      const bound = seconds * 1000 > MAX_TIMER_MS ? ` of at most ${MAX_TIMER_MS / 1000} (${TIMER_LIMIT_NOTE})` : '';
      throw new ConformanceError('E_USAGE', `${option}: expected a positive number of seconds${bound}, found ${describeValue(text)}`, { option, text });
    }
    return Math.max(1, Math.round(seconds * 1000));
  };
}

/** A repeatable, comma-separated list: `--only a,b --only c` gives [a, b, c]. */
export function commaList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((item) => item.trim()).filter((item) => item !== '')];
}

/** What is at `path`: a folder, something else, or nothing. */
function kindAt(path: string): 'folder' | 'other' | 'nothing' {
  try {
    return statSync(path).isDirectory() ? 'folder' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return 'nothing';
    throw error;
  }
}

/**
 * Check, before any work, that a file can be written at `path`: its folder exists and `path`
 * is not a folder. E_USAGE naming the option otherwise (`--json: the folder /x of /x/r.json
 * does not exist`).
 */
export function checkOutputFile(path: string, option: string): void {
  const absolute = resolve(path);
  if (kindAt(absolute) === 'folder') {
    throw new ConformanceError('E_USAGE', `${option}: expected a file to write, found a folder at ${path}`, { option, path });
  }
  const folder = dirname(absolute);
  const folderKind = kindAt(folder);
  if (folderKind !== 'folder') {
    const found = folderKind === 'nothing' ? 'does not exist' : 'is not a folder';
    throw new ConformanceError('E_USAGE', `${option}: cannot write ${path}: its folder ${folder} ${found}`, { option, path, folder });
  }
}

/**
 * Check, before any work, that `path` can be a folder to write into: a folder, or nothing below
 * a folder (missing parents are created). E_USAGE naming the option otherwise
 * (`--out: expected a folder (or a name for a new one), found a file at notes.txt`).
 */
export function checkOutputFolder(path: string, option: string): void {
  let current = resolve(path);
  for (;;) {
    const kind = kindAt(current);
    if (kind === 'folder') return;
    if (kind === 'other') {
      const where = current === resolve(path) ? `at ${path}` : `at ${current}, on the way to ${path}`;
      throw new ConformanceError('E_USAGE', `${option}: expected a folder (or a name for a new one), found a file ${where}`, { option, path, file: current });
    }
    const parent = dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
