// Question → token ids for a model's text tower, with `@huggingface/tokenizers` on the model folder's
// tokenizer.json (+ tokenizer_config.json). Adds the model's special tokens, truncates at the context
// length keeping the end tokens (CLIP pools at its end-of-text token), and says so in a notice.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { InputError } from '../errors.ts';

export interface TokenizedQuestion {
  /** Ids with special tokens, at most `contextLength` long; null for an empty question. */
  ids: number[] | null;
  /** Token strings matching `ids` (for display); null for an empty question. */
  tokens: string[] | null;
  truncated: boolean;
  /** One sentence to show the user (truncation or question-agnostic mode), else null. */
  notice: string | null;
}

export interface QuestionTokenizer {
  /** Maximum ids per question including special tokens, or null when the folder states none. */
  readonly contextLength: number | null;
  /** tokenizer.json path, for provenance. */
  readonly source: string;
  encode(question: string): TokenizedQuestion;
}

export const EMPTY_QUESTION_NOTICE = 'No question given: question-agnostic analysis (methods that need text are unavailable).';

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`Cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
}

function field(o: unknown, ...keys: string[]): unknown {
  let v = o;
  for (const k of keys) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as { [key: string]: unknown })[k];
  }
  return v;
}

const isLength = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 2 && v <= 1_000_000;

/**
 * The text context length: config.json's text_config.max_position_embeddings, else tokenizer_config's
 * model_max_length (ignoring transformers' "unlimited" placeholder), else tokenizer.json's truncation.
 */
function contextLengthOf(folder: string, tokenizerJson: unknown, tokenizerConfig: unknown): number | null {
  const configPath = join(folder, 'config.json');
  if (existsSync(configPath)) {
    const fromModel = field(readJson(configPath), 'text_config', 'max_position_embeddings');
    if (isLength(fromModel)) return fromModel;
  }
  const fromConfig = field(tokenizerConfig, 'model_max_length');
  if (isLength(fromConfig)) return fromConfig;
  const fromTokenizer = field(tokenizerJson, 'truncation', 'max_length');
  return isLength(fromTokenizer) ? fromTokenizer : null;
}

/** Split `full` = prefix + plain + suffix (special tokens around the text's own ids), if it is so. */
function specialFrame(full: number[], plain: number[]): { prefix: number; suffix: number } | null {
  for (let p = 0; p + plain.length <= full.length; p++) {
    if (plain.every((id, i) => full[p + i] === id)) return { prefix: p, suffix: full.length - p - plain.length };
  }
  return null;
}

/**
 * Load `<folder>/tokenizer.json` (and tokenizer_config.json when present). `contextLength` overrides the
 * length found in the folder (see contextLengthOf).
 */
export function loadTokenizer(folder: string, contextLength?: number): QuestionTokenizer {
  const source = join(folder, 'tokenizer.json');
  if (!existsSync(source)) throw new InputError(`No tokenizer.json in ${folder}; the model folder needs one to encode questions.`);
  const tokenizerJson = readJson(source);
  const configPath = join(folder, 'tokenizer_config.json');
  const tokenizerConfig = existsSync(configPath) ? readJson(configPath) : {};
  if (contextLength !== undefined && !isLength(contextLength)) throw new InputError(`Context length must be an integer ≥ 2, got ${contextLength}.`);
  const ctx = contextLength ?? contextLengthOf(folder, tokenizerJson, tokenizerConfig);
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig as object);
  } catch (err) {
    throw new InputError(`${source} could not be loaded as a tokenizer (${err instanceof Error ? err.message : String(err)}).`);
  }
  return {
    contextLength: ctx,
    source,
    encode(question: string): TokenizedQuestion {
      if (question.trim() === '') return { ids: null, tokens: null, truncated: false, notice: EMPTY_QUESTION_NOTICE };
      const full = tokenizer.encode(question);
      if (ctx === null || full.ids.length <= ctx) return { ids: full.ids, tokens: full.tokens, truncated: false, notice: null };
      const plain = tokenizer.encode(question, { add_special_tokens: false });
      const frame = specialFrame(full.ids, plain.ids) ?? { prefix: 0, suffix: 1 };
      const keep = ctx - frame.prefix - frame.suffix;
      if (keep < 1) throw new InputError(`Context length ${ctx} leaves no room for the question between the special tokens.`);
      const pick = <T>(a: T[]): T[] => [...a.slice(0, frame.prefix + keep), ...a.slice(a.length - frame.suffix)];
      const dropped = full.ids.length - ctx;
      return {
        ids: pick(full.ids),
        tokens: pick(full.tokens),
        truncated: true,
        notice: `Question truncated to the model's ${ctx}-token context: the last ${dropped} token${dropped === 1 ? '' : 's'} of the question ${dropped === 1 ? 'was' : 'were'} dropped (end token kept).`,
      };
    },
  };
}
