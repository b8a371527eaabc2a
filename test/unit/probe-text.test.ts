import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { CONCEPT_AXES, CUE_NORM, FEATURE_CHANNELS } from '../../models/probe/concepts.ts';
import { GRID, N, probeDir, runText, runVision, twoObjectScene, type VisionOut } from './probe-fixtures.ts';

function tokenizer(): Tokenizer {
  const dir = probeDir();
  return new Tokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as object, JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as object);
}
const ask = (q: string): Promise<{ embeds: Float32Array; cue: Float32Array }> => runText(tokenizer().encode(q).ids);
const axis = (name: string): number => CONCEPT_AXES.findIndex((a) => a.name === name);
const chan = (name: string): number => FEATURE_CHANNELS.findIndex((c) => c.name === name);
const norm = (v: ArrayLike<number>): number => Math.hypot(...Array.from(v));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void => {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

/** Patch scores image_joint · text_embeds. */
function relevance(v: VisionOut, t: Float32Array): number[] {
  return Array.from({ length: N }, (_, i) => t.reduce((s, x, k) => s + x * v.joint[i * v.dc + k], 0));
}
const topK = (scores: number[], k: number): number[] => [...scores.keys()].sort((a, b) => scores[b] - scores[a] || a - b).slice(0, k);

test('a colour word embeds as the unit vector of its axis; synonyms agree; the question adds nothing else', async () => {
  const red = await ask('red');
  const expected = new Float32Array(CONCEPT_AXES.length);
  expected[axis('red')] = 1;
  close(red.embeds, expected, 1e-6, 'red');
  close((await ask('Where is the RED square?')).embeds, red.embeds, 1e-6, 'question');
  const grey = await ask('grey');
  const gray = await ask('gray');
  close(gray.embeds, grey.embeds, 0, 'gray vs grey');
  close(gray.cue, grey.cue, 0, 'gray vs grey cue');
  close((await ask('centre')).embeds, (await ask('center')).embeds, 0, 'centre vs center');
  const lightBlue = (await ask('light blue')).embeds;
  assert.ok(Math.abs(lightBlue[axis('bright')] - Math.SQRT1_2) < 1e-6 && Math.abs(lightBlue[axis('blue')] - Math.SQRT1_2) < 1e-6, 'light blue');
});

test('words outside the vocabulary, question words, punctuation and specials embed to exactly zero', async () => {
  for (const q of ['zebra', 'what is this thing?', 'Where is it ?!', '']) {
    const ids = q === '' ? [0, 1, 2, 3] : tokenizer().encode(q).ids;
    const out = await runText(ids);
    assert.ok(out.embeds.every((x) => x === 0), `"${q}" text_embeds ${Array.from(out.embeds)}`);
    assert.ok(out.cue.every((x) => x === 0), `"${q}" cue`);
  }
});

test('cues: one row per token, zero for non-content tokens, length 10 along the named channels', async () => {
  const ids = tokenizer().encode('Where is the red square on the left?').ids;
  const { cue } = await runText(ids);
  const d = FEATURE_CHANNELS.length;
  assert.equal(cue.length, ids.length * d);
  const tokens = tokenizer().encode('Where is the red square on the left?').tokens;
  tokens.forEach((t: string, m: number) => {
    const row = cue.subarray(m * d, (m + 1) * d);
    if (t === 'red') {
      assert.ok(Math.abs(norm(row) - CUE_NORM) < 1e-4 && Math.abs(row[chan('red')] - CUE_NORM) < 1e-4, 'red cue');
    } else if (t === 'left') {
      assert.ok(Math.abs(row[chan('col')] + CUE_NORM) < 1e-4, 'left cue points to negative col');
    } else {
      assert.ok(row.every((x) => x === 0), `cue of "${t}" is not zero`);
    }
  });
});

test('image_joint · text_embeds: "red" ranks exactly the red square\'s 36 patches first, "blue" the disc; swapping swaps', async () => {
  const { scene, square, disc } = twoObjectScene();
  const v = await runVision(scene);
  const red = relevance(v, (await ask('where is the red square?')).embeds);
  const blue = relevance(v, (await ask('where is the blue disc?')).embeds);
  assert.deepEqual(new Set(topK(red, square.size)), square);
  const discTop = topK(blue, disc.size);
  assert.ok(discTop.every((i) => disc.has(i)), `blue's top ${disc.size}: ${discTop.filter((i) => !disc.has(i))} outside the disc`);
  for (const i of square) assert.ok(red[i] > blue[i], `square patch ${i} prefers red`);
  for (const i of disc) assert.ok(blue[i] > red[i], `disc patch ${i} prefers blue`);
});

test('"left" favours left columns: the mean relevance per column falls strictly from left to right', async () => {
  const v = await runVision(twoObjectScene().scene);
  const left = relevance(v, (await ask('what is on the left?')).embeds);
  const colMean = Array.from({ length: GRID }, (_, c) => Array.from({ length: GRID }, (_, r) => left[r * GRID + c]).reduce((s, x) => s + x, 0) / GRID);
  for (let c = 1; c < GRID; c++) assert.ok(colMean[c] < colMean[c - 1], `column ${c}: ${colMean[c]} ≥ ${colMean[c - 1]}`);
});

test('F³A-style centring keeps the cue on its object: cos(cue − μ, patch − μ) ranks the named object first', async () => {
  const { scene, square, disc } = twoObjectScene();
  const v = await runVision(scene);
  const d = v.d;
  const mu = Array.from({ length: d }, (_, k) => Array.from({ length: N }, (_, i) => v.features[i * d + k]).reduce((s, x) => s + x, 0) / N);
  const centred = (x: ArrayLike<number>): number[] => {
    const c = Array.from({ length: d }, (_, k) => x[k] - mu[k]);
    const n = norm(c);
    return c.map((y) => y / n);
  };
  const patches = Array.from({ length: N }, (_, i) => centred(v.features.subarray(i * d, (i + 1) * d)));
  for (const [word, target] of [['red', square], ['blue', disc]] as const) {
    const cue = (await ask(word)).cue.subarray(d, 2 * d); // row 0 is <start>
    const q = centred(cue);
    assert.ok(q[chan(word)] > 0.9, `${word}: centred cue keeps ${q[chan(word)]} on its channel`);
    const scores = patches.map((p) => p.reduce((s, x, k) => s + x * q[k], 0));
    const top = topK(scores, target.size);
    assert.ok(top.every((i) => target.has(i)), `${word}: top ${target.size} has ${top.filter((i) => !target.has(i)).length} patches off the object`);
  }
});
