/**
 * Load an optional peer dependency of a backend (onnxruntime-node,
 * @tensorflow/tfjs) when the backend is created. The package installs without
 * them; a missing one is an E_BACKEND_MISSING error that names the package and
 * the `npm i` command that adds it, in the range package.json's
 * peerDependencies asks for.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConformanceError } from '../src/errors.js';
import { PACKAGE_NAME, packageRoot } from '../src/paths.js';

/** The optional packages a backend can need. */
export type OptionalPackage = 'onnxruntime-node' | '@tensorflow/tfjs';

/** The range package.json's peerDependencies gives for `name`. */
export function peerRange(name: OptionalPackage): string {
  const manifestPath = join(packageRoot(), 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { peerDependencies?: Record<string, unknown> };
  const range = manifest.peerDependencies?.[name];
  if (typeof range !== 'string') {
    throw new ConformanceError('E_BACKEND_MISSING', `${manifestPath}: expected peerDependencies["${name}"] to be a version range, found ${JSON.stringify(range)}`, {
      name,
    });
  }
  return range;
}

/**
 * The shell command that installs the optional package. onnxruntime-node's
 * postinstall downloads CUDA files from outside the npm registry by default;
 * the backend uses only the CPU kernels inside the package, so the command skips
 * that download (ONNXRUNTIME_NODE_INSTALL=skip).
 */
export function installCommand(name: OptionalPackage): string {
  const command = `npm i -D '${name}@${peerRange(name)}'`;
  return name === 'onnxruntime-node' ? `ONNXRUNTIME_NODE_INSTALL=skip ${command}` : command;
}

/** Whether `error` says that `name` itself (not something it imports) cannot be found. */
function isMissing(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const message = error instanceof Error ? error.message : '';
  return message.includes(`'${name}'`) || message.includes(`"${name}"`);
}

/**
 * import(name), or E_BACKEND_MISSING when it is not installed. `usedBy` names
 * what needs it, e.g. 'the onnxruntime backend'. Any other failure (a broken
 * native binding, say) is rethrown as it is.
 */
export async function importOptional<Module>(name: OptionalPackage, usedBy: string, load: () => Promise<Module>): Promise<Module> {
  try {
    return await load();
  } catch (error) {
    if (!isMissing(error, name)) throw error;
    throw new ConformanceError(
      'E_BACKEND_MISSING',
      `${usedBy} needs the package ${name}, which is not installed (it is an optional peer dependency of ${PACKAGE_NAME}). ` +
        `Install it in your project with: ${installCommand(name)}${name === 'onnxruntime-node' ? ' (the skip keeps its postinstall from downloading CUDA files; only its bundled CPU kernels are used)' : ''}`,
      { package: name, usedBy },
      { cause: error },
    );
  }
}
