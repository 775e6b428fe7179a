/**
 * The one table of exit statuses, for every command of the package.
 *
 *   0    the command did what was asked, and the answer is yes (fixtures passed, corpus verified...)
 *   1    it did its job and the answer is no: a fixture failed, a corpus or archive was refused,
 *        a witness disagreed, a self-test expectation was not met
 *   2    it could not do its job: a usage error, an adapter that cannot be loaded, a corpus it
 *        needs that fails verification, a file it cannot write, an internal error
 *   130  interrupted by SIGINT (Ctrl-C), 128 + 2
 *   143  terminated by SIGTERM, 128 + 15
 *
 * A command that finishes returns its status with its result (cli/entry.ts); one that stops on a
 * ConformanceError gets the status of the error's code from ERROR_EXIT_STATUS.
 */
import type { ErrorCode } from '../src/errors.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_UNUSABLE = 2;

/** The status a command returns with its result. */
export type ExitStatus = typeof EXIT_OK | typeof EXIT_FAILED | typeof EXIT_UNUSABLE | (typeof SIGNAL_EXIT_STATUS)[EndingSignal];

/**
 * Exit status of a command stopped by a ConformanceError with this code. Corpus codes are 2: a
 * corpus that a command needs cannot be used. (conv2d-fixtures, whose answer is whether a corpus
 * or archive holds, returns such a refusal as its result, with status 1.)
 */
export const ERROR_EXIT_STATUS: Readonly<Record<ErrorCode, typeof EXIT_FAILED | typeof EXIT_UNUSABLE>> = {
  E_USAGE: EXIT_UNUSABLE,
  E_ADAPTER_LOAD: EXIT_UNUSABLE,
  E_ADAPTER_SHAPE: EXIT_UNUSABLE,
  E_ADAPTER_RESULT: EXIT_UNUSABLE,
  E_GEOMETRY: EXIT_UNUSABLE,
  E_NPY: EXIT_UNUSABLE,
  E_FIXTURE: EXIT_UNUSABLE,
  E_SCHEMA: EXIT_UNUSABLE,
  E_CHECKSUM: EXIT_UNUSABLE,
  E_MANIFEST: EXIT_UNUSABLE,
  E_MISSING_FILE: EXIT_UNUSABLE,
  E_FILE_KIND: EXIT_UNUSABLE,
  E_FILE_SIZE: EXIT_UNUSABLE,
  E_CORPUS: EXIT_UNUSABLE,
  E_BACKEND_MISSING: EXIT_UNUSABLE,
  E_ARCHIVE: EXIT_FAILED,
  E_FETCH: EXIT_FAILED,
  E_WITNESS: EXIT_FAILED,
  E_WITNESS_DISAGREES: EXIT_FAILED,
  E_GENERATOR: EXIT_FAILED,
};

/** An error that is not a ConformanceError (a bug, or a system error no check caught). */
export const INTERNAL_ERROR_EXIT_STATUS = EXIT_UNUSABLE;

/** Exit status on the signals that end a command: 128 + the signal number, as shells report it. */
export const SIGNAL_EXIT_STATUS = { SIGINT: 130, SIGTERM: 143 } as const;

export type EndingSignal = keyof typeof SIGNAL_EXIT_STATUS;
