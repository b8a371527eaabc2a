// Question → ids. Expected ids come from (1) MODELS.md's verified example and (2) an independent
// implementation, in this test, of OpenAI CLIP's published BPE algorithm over its original merge list
// (../shared/models/clip-bpe/), which never reads tokenizer.json or vocab.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { InputError } from '../../extension/core/errors.ts';
import { EMPTY_QUESTION_NOTICE, loadTokenizer } from '../../extension/core/runtime/tokenizer.ts';
import { SHARED } from '../helpers/paths.ts';

const CLIP = join(SHARED, 'models', 'clip-vit-base-patch32');

/** CLIP's reference BPE: byte→unicode table, vocab order, greedy lowest-rank merges, '</w>' word ends. */
function referenceClipEncoder(): (text: string) => number[] {
  const lines = gunzipSync(readFileSync(join(SHARED, 'models', 'clip-bpe', 'bpe_simple_vocab_16e6.txt.gz'))).toString('utf8').split('\n');
  const merges = lines.slice(1, 49152 - 256 - 2 + 1).map((l) => l.split(' ') as [string, string]);
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const byteToChar = new Map<number, string>();
  printable.forEach((b) => byteToChar.set(b, String.fromCodePoint(b)));
  let extra = 0;
  const order = [...printable];
  for (let b = 0; b < 256; b++) {
    if (!byteToChar.has(b)) {
      byteToChar.set(b, String.fromCodePoint(256 + extra++));
      order.push(b);
    }
  }
  const vocab: string[] = order.map((b) => byteToChar.get(b) as string);
  vocab.push(...vocab.map((v) => `${v}</w>`));
  for (const [a, b] of merges) vocab.push(a + b);
  vocab.push('<|startoftext|>', '<|endoftext|>');
  const ids = new Map(vocab.map((v, i) => [v, i]));
  const ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  const bpe = (token: string): string[] => {
    let word = [...token];
    word[word.length - 1] += '</w>';
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) return word;
      const [a, b] = [word[best], word[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          next.push(a + b);
          i++;
        } else next.push(word[i]);
      }
      word = next;
    }
  };
  const pattern = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;
  return (text: string) => {
    const clean = text.replace(/\s+/g, ' ').trim().toLowerCase();
    const out = [ids.get('<|startoftext|>') as number];
    for (const m of clean.matchAll(pattern)) {
      const chars = [...new TextEncoder().encode(m[0])].map((b) => byteToChar.get(b) as string).join('');
      for (const piece of bpe(chars)) out.push(ids.get(piece) as number);
    }
    out.push(ids.get('<|endoftext|>') as number);
    return out;
  };
}

test('MODELS.md example: "What is the man ironing on the back of the taxi?"', () => {
  const r = loadTokenizer(CLIP).encode('What is the man ironing on the back of the taxi?');
  assert.deepEqual(r.ids, [49406, 768, 533, 518, 786, 46655, 525, 518, 893, 539, 518, 11380, 286, 49407]);
  assert.equal(r.truncated, false);
  assert.equal(r.notice, null);
  assert.equal(r.tokens?.[5], 'ironing</w>');
});

test('ids equal an independent implementation of CLIP BPE over the original merge list', () => {
  const reference = referenceClipEncoder();
  const tokenizer = loadTokenizer(CLIP);
  assert.deepEqual(reference('What is the man ironing on the back of the taxi?'), tokenizer.encode('What is the man ironing on the back of the taxi?').ids);
  const questions = [
    'What is unusual about this image?',
    'What are the things I should be cautious about when I visit here?',
    "Where's the cat's   toy?? It isn't there.",
    'How many coins: 12 or 1024?',
    'A café with crème brûlée and naïve décor',
    'Unbelievably,   DOUBLE-SPACED text… with UTF-8 ✓ marks',
    'photosynthesis antidisestablishmentarianism xylophone',
  ];
  for (const q of questions) assert.deepEqual(tokenizer.encode(q).ids, reference(q), q);
});

test('context length 77 from config.json; long questions are truncated keeping <|endoftext|>', () => {
  const tokenizer = loadTokenizer(CLIP);
  assert.equal(tokenizer.contextLength, 77);
  const words = Array.from({ length: 100 }, (_, i) => ['red', 'car', 'blue', 'sky'][i % 4]);
  const full = referenceClipEncoder()(words.join(' '));
  assert.equal(full.length, 102);
  const r = tokenizer.encode(words.join(' '));
  assert.equal(r.truncated, true);
  assert.equal(r.ids?.length, 77);
  assert.deepEqual(r.ids, [...full.slice(0, 76), 49407]);
  assert.equal(r.tokens?.length, 77);
  assert.match(r.notice ?? '', /truncated to the model's 77-token context: the last 25 tokens .* dropped/);
  // Boundary: 75 words + 2 specials fit exactly; 76 do not.
  assert.equal(tokenizer.encode(words.slice(0, 75).join(' ')).truncated, false);
  assert.equal(tokenizer.encode(words.slice(0, 75).join(' ')).ids?.length, 77);
  const over = tokenizer.encode(words.slice(0, 76).join(' '));
  assert.equal(over.truncated, true);
  assert.match(over.notice ?? '', /the last 1 token of the question was dropped/);
  // An explicit context length overrides the folder's.
  const short = loadTokenizer(CLIP, 5).encode('What is the man ironing?');
  assert.deepEqual(short.ids, [49406, 768, 533, 518, 49407]);
});

test('empty or whitespace-only question = question-agnostic (null ids and a notice)', () => {
  const tokenizer = loadTokenizer(CLIP);
  for (const q of ['', '   ', '\n\t ']) assert.deepEqual(tokenizer.encode(q), { ids: null, tokens: null, truncated: false, notice: EMPTY_QUESTION_NOTICE });
});

test('tokenizer-only folder works (no config.json: model_max_length); missing tokenizer.json is an InputError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-tok-'));
  copyFileSync(join(CLIP, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const cfg = JSON.parse(readFileSync(join(CLIP, 'tokenizer_config.json'), 'utf8')) as { model_max_length: number };
  cfg.model_max_length = 10;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(cfg));
  const t = loadTokenizer(dir);
  assert.equal(t.contextLength, 10);
  assert.equal(t.encode('one two three four five six seven eight nine ten').ids?.length, 10);
  assert.throws(() => loadTokenizer(join(dir, 'nope')), (e: unknown) => e instanceof InputError && /No tokenizer\.json/.test(e.message));
});
