/**
 * The fenced code blocks of the project's documentation (README.md and docs/*.md), with
 * the annotations written right above each block as HTML comments, one per line:
 *
 *   <!-- not run: REASON -->            a shell block the docs test does not run, and why
 *   <!-- exit: N -->                    a shell block expected to exit with status N (default 0)
 *   <!-- requires-python: MODULES -->   a shell block needing python3 with these modules
 *   <!-- readme-test: FILE -->          a block test/readme.test.ts saves as FILE and runs
 *
 * Used by test/docs.test.ts (every shell block, every relative link) and
 * test/readme.test.ts (the readme-test blocks).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../conformance/run-cli.js';

export const ANNOTATION_KEYS = ['not run', 'exit', 'requires-python', 'readme-test'] as const;
export type AnnotationKey = (typeof ANNOTATION_KEYS)[number];

export interface DocBlock {
  /** The file, relative to the repository root (e.g. `docs/protocol.md`). */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's info string (`sh`, `js`, ...; '' when none). */
  language: string;
  /** The block's text, its indentation removed, ending with a newline. */
  code: string;
  annotations: Partial<Record<AnnotationKey, string>>;
  /** Comments above the block that look like annotations but use another key (a typo). */
  unknownAnnotations: string[];
}

export interface DocFile {
  file: string;
  text: string;
}

/** README.md, then docs/*.md in name order. */
export function docFiles(): DocFile[] {
  const docs = readdirSync(join(REPO_ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join('docs', name));
  return ['README.md', ...docs].map((file) => ({ file, text: readFileSync(join(REPO_ROOT, file), 'utf8') }));
}

const ANNOTATION = /^\s*<!--\s*([\w -]+?):\s*(.*?)\s*-->\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/;

/** Every fenced block of one markdown text. An unclosed fence throws, naming the file and line. */
export function fencedBlocks(doc: DocFile): DocBlock[] {
  const lines = doc.text.split('\n');
  const blocks: DocBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = FENCE.exec(lines[index]);
    if (open === null) continue;
    const [, indent, fence, language] = open;
    const annotations: DocBlock['annotations'] = {};
    const unknownAnnotations: string[] = [];
    for (let above = index - 1; above >= 0; above--) {
      const comment = ANNOTATION.exec(lines[above]);
      if (comment === null) break;
      const key = comment[1].trim();
      if ((ANNOTATION_KEYS as readonly string[]).includes(key)) annotations[key as AnnotationKey] = comment[2];
      else unknownAnnotations.push(lines[above].trim());
    }
    const body: string[] = [];
    let close = index + 1;
    while (close < lines.length && !(lines[close].trim().startsWith(fence[0].repeat(fence.length)) && lines[close].trim().replace(/[`~]/g, '') === '')) {
      body.push(lines[close].startsWith(indent) ? lines[close].slice(indent.length) : lines[close].trimStart());
      close++;
    }
    if (close >= lines.length) throw new Error(`${doc.file}:${index + 1}: the code fence ${fence} is never closed`);
    blocks.push({ file: doc.file, line: index + 1, language, code: `${body.join('\n')}\n`, annotations, unknownAnnotations });
    index = close;
  }
  return blocks;
}

/** The blocks of README.md and docs/*.md. */
export function docBlocks(): DocBlock[] {
  return docFiles().flatMap(fencedBlocks);
}

/** `file:line`, for messages. */
export function where(block: DocBlock): string {
  return `${block.file}:${block.line}`;
}
