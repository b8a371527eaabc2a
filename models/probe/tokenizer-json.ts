import type { JsonObject } from '../../extension/core/json.ts';
import { SPECIAL_TOKENS, type VocabEntry } from './vocabulary.ts';

/** Text context length the probe declares (CLIP's, so prompts are truncated alike). */
export const CONTEXT_LENGTH = 77;

/**
 * tokenizer.json in the Hugging Face `tokenizers` format: WordLevel model, lower-casing, BERT-style
 * pre-tokenisation (split on whitespace and punctuation), `<start> … <end>` around every sequence.
 */
export function tokenizerJson(vocab: VocabEntry[]): JsonObject {
  const id = (token: string): number => {
    const e = vocab.find((v) => v.token === token);
    if (!e) throw new Error(`probe tokenizer: no token ${token}`);
    return e.id;
  };
  const specials = Object.values(SPECIAL_TOKENS);
  const special = (token: string): JsonObject => ({ id: token, ids: [id(token)], tokens: [token] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: SPECIAL_TOKENS.start, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: SPECIAL_TOKENS.end, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: SPECIAL_TOKENS.start, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: SPECIAL_TOKENS.end, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: SPECIAL_TOKENS.end, type_id: 1 } },
      ],
      special_tokens: { [SPECIAL_TOKENS.start]: special(SPECIAL_TOKENS.start), [SPECIAL_TOKENS.end]: special(SPECIAL_TOKENS.end) },
    },
    decoder: null,
    model: {
      type: 'WordLevel',
      vocab: Object.fromEntries(vocab.map((v) => [v.token, v.id])),
      unk_token: SPECIAL_TOKENS.unk,
    },
  };
}

/** tokenizer_config.json: the specials and limits transformers / tokenizers.js read beside tokenizer.json. */
export function tokenizerConfig(vocab: VocabEntry[]): JsonObject {
  const specials = new Set<string>(Object.values(SPECIAL_TOKENS));
  const decoder: JsonObject = {};
  for (const v of vocab) {
    if (specials.has(v.token)) {
      decoder[String(v.id)] = { content: v.token, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
    }
  }
  return {
    added_tokens_decoder: decoder,
    bos_token: SPECIAL_TOKENS.start,
    eos_token: SPECIAL_TOKENS.end,
    unk_token: SPECIAL_TOKENS.unk,
    pad_token: SPECIAL_TOKENS.pad,
    clean_up_tokenization_spaces: false,
    do_lower_case: true,
    model_max_length: CONTEXT_LENGTH,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
}
