/**
 * The --filter language: select fixtures by their metadata.
 *
 *   EXPR  := TERM ( ',' TERM )*          comma = AND
 *   TERM  := KEY OP VALUES
 *   KEY   := family | dtype | tag | case | id
 *   OP    := '='   equals one of the values
 *          | '!='  equals none of the values
 *          | '~'   contains one of the values as a substring
 *          | '!~'  contains none of the values
 *   VALUES := VALUE ( '|' VALUE )*       '|' = OR among values
 *
 * For `tag`, a term holds when some tag of the fixture matches (`=`, `~`), or when
 * no tag matches (`!=`, `!~`). Spaces around keys and values are ignored.
 * `family` and `dtype` values given with = / != must be known names.
 *
 * Examples: `family=exact`, `dtype!=float16`, `tag=groups,dtype=float32`,
 * `family=normal|wide,id~stride`, `case~depthwise`.
 */
import { ConformanceError } from '../src/errors.js';
import { DATA_FAMILIES, DTYPES } from '../src/types.js';

export type FilterKey = 'family' | 'dtype' | 'tag' | 'case' | 'id';
export const FILTER_KEYS: readonly FilterKey[] = ['family', 'dtype', 'tag', 'case', 'id'];

export type FilterOperator = '=' | '!=' | '~' | '!~';

export interface FilterTerm {
  key: FilterKey;
  operator: FilterOperator;
  values: string[];
  /** The term as written, for messages. */
  text: string;
}

/** What a filter looks at: a subset of FixtureMeta. */
export interface FilterSubject {
  id: string;
  family: string;
  dtype: string;
  case: string;
  tags: readonly string[];
}

const OPERATOR_HELP = 'KEY=VALUE, KEY!=VALUE, KEY~VALUE or KEY!~VALUE (KEY one of family, dtype, tag, case, id)';

function usage(message: string, context: Record<string, unknown>): ConformanceError {
  return new ConformanceError('E_USAGE', message, context);
}

function findOperator(text: string): { index: number; operator: FilterOperator } | null {
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '!' && (text[index + 1] === '=' || text[index + 1] === '~')) {
      return { index, operator: text[index + 1] === '=' ? '!=' : '!~' };
    }
    if (character === '=') return { index, operator: '=' };
    if (character === '~') return { index, operator: '~' };
  }
  return null;
}

/** Parse a filter expression; throws E_USAGE naming the bad term. */
export function parseFilter(expression: string): FilterTerm[] {
  const terms: FilterTerm[] = [];
  const pieces = expression.split(',');
  for (const piece of pieces) {
    const text = piece.trim();
    if (text === '') {
      throw usage(`--filter '${expression}': empty term (expected ${OPERATOR_HELP}, terms separated by commas)`, { expression });
    }
    const found = findOperator(text);
    if (found === null) {
      throw usage(`--filter term '${text}': no operator; expected ${OPERATOR_HELP}`, { expression, term: text });
    }
    const key = text.slice(0, found.index).trim();
    const rawValues = text.slice(found.index + found.operator.length);
    if (!(FILTER_KEYS as readonly string[]).includes(key)) {
      throw usage(`--filter term '${text}': unknown key '${key}'; expected one of ${FILTER_KEYS.join(', ')}`, { expression, term: text, key });
    }
    const values = rawValues.split('|').map((value) => value.trim());
    if (values.some((value) => value === '')) {
      throw usage(`--filter term '${text}': empty value; expected ${key}${found.operator}VALUE (alternatives separated by '|')`, { expression, term: text });
    }
    const filterKey = key as FilterKey;
    const exact = found.operator === '=' || found.operator === '!=';
    const known: readonly string[] | null = filterKey === 'family' ? DATA_FAMILIES : filterKey === 'dtype' ? DTYPES : null;
    if (exact && known !== null) {
      for (const value of values) {
        if (!known.includes(value)) {
          throw usage(`--filter term '${text}': unknown ${filterKey} '${value}'; expected one of ${known.join(', ')}`, { expression, term: text, value });
        }
      }
    }
    terms.push({ key: filterKey, operator: found.operator, values, text });
  }
  return terms;
}

function valueMatches(candidate: string, operator: FilterOperator, values: readonly string[]): boolean {
  if (operator === '=' || operator === '!=') return values.includes(candidate);
  return values.some((value) => candidate.includes(value));
}

/** True when every term holds for the subject. */
export function matchesFilter(terms: readonly FilterTerm[], subject: FilterSubject): boolean {
  for (const term of terms) {
    const candidates: readonly string[] = term.key === 'tag' ? subject.tags : [subject[term.key]];
    const anyMatches = candidates.some((candidate) => valueMatches(candidate, term.operator, term.values));
    const negated = term.operator === '!=' || term.operator === '!~';
    if (negated ? anyMatches : !anyMatches) return false;
  }
  return true;
}
