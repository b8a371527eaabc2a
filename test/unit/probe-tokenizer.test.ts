import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { probeDir } from './probe-fixtures.ts';

function load(): { tok: Tokenizer; vocab: Record<string, number> } {
  const json = JSON.parse(readFileSync(join(probeDir(), 'tokenizer.json'), 'utf8')) as { model: { type: string; vocab: Record<string, number> } };
  const config = JSON.parse(readFileSync(join(probeDir(), 'tokenizer_config.json'), 'utf8')) as object;
  assert.equal(json.model.type, 'WordLevel');
  return { tok: new Tokenizer(json, config), vocab: json.model.vocab };
}

test('"Where is the RED square?" lower-cases, splits the "?" and frames with <start>/<end>', () => {
  const { tok, vocab } = load();
  const enc = tok.encode('Where is the RED square?');
  const expected = ['<start>', 'where', 'is', 'the', 'red', 'square', '?', '<end>'];
  assert.deepEqual(enc.tokens, expected);
  assert.deepEqual(enc.ids, expected.map((t) => vocab[t]));
  assert.equal(new Set(enc.ids).size, expected.length);
});

test('punctuation splits off words; unknown words become [UNK]; synonyms keep their own ids', () => {
  const { tok, vocab } = load();
  const enc = tok.encode('Gray,grey zebra!');
  assert.deepEqual(enc.tokens, ['<start>', 'gray', ',', 'grey', 'zebra', '!', '<end>']);
  assert.deepEqual(enc.ids, [vocab['<start>'], vocab.gray, vocab[','], vocab.grey, vocab['[UNK]'], vocab['!'], vocab['<end>']]);
  assert.notEqual(vocab.gray, vocab.grey);
  assert.deepEqual(tok.encode('left', { add_special_tokens: false }).ids, [vocab.left]);
});

test('vocabulary ids are dense 0..V-1 and the specials come first', () => {
  const { vocab } = load();
  const ids = Object.values(vocab).sort((a, b) => a - b);
  assert.deepEqual(ids, ids.map((_, i) => i));
  assert.deepEqual(['[PAD]', '[UNK]', '<start>', '<end>'].map((t) => vocab[t]), [0, 1, 2, 3]);
});
