import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONCEPT_AXES, FEATURE_CHANNELS, KEY_COLUMNS, featureVector } from '../../models/probe/concepts.ts';
import { GREY, GRID, N, Scene, runVision, twoObjectScene, type VisionOut } from './probe-fixtures.ts';

const chan = (name: string): number => FEATURE_CHANNELS.findIndex((c) => c.name === name);
const axis = (name: string): number => CONCEPT_AXES.findIndex((a) => a.name === name);
const feat = (v: VisionOut, i: number, name: string): number => v.features[i * v.d + chan(name)];
const joint = (v: VisionOut, i: number, name: string): number => v.joint[i * v.dc + axis(name)];
const patch = (r: number, c: number): number => r * GRID + c;

test('outputs have the LLaVA-1.5 geometry and the documented widths', async () => {
  const v = await runVision(twoObjectScene().scene);
  assert.equal(v.features.length, N * FEATURE_CHANNELS.length);
  assert.equal(v.d, FEATURE_CHANNELS.length);
  assert.equal(v.dc, CONCEPT_AXES.length);
  assert.equal(v.clsAttn.length, v.heads * N);
  assert.equal(v.keys.length, N * KEY_COLUMNS.length);
  assert.equal(v.cls.length, v.d);
});

test('red membership is > 0.9 on every red-square patch and < 0.02 everywhere else; blue fills the disc', async () => {
  const { scene, square, disc } = twoObjectScene();
  const v = await runVision(scene);
  for (let i = 0; i < N; i++) {
    const red = feat(v, i, 'red');
    if (square.has(i)) assert.ok(red > 0.9, `square patch ${i}: red ${red}`);
    else assert.ok(red < 0.02, `patch ${i} outside the square: red ${red}`);
    if (disc.has(i)) assert.ok(feat(v, i, 'blue') > 0.3, `disc patch ${i}: blue ${feat(v, i, 'blue')}`);
    const total = FEATURE_CHANNELS.slice(0, 11).reduce((s, c) => s + feat(v, i, c.name), 0);
    assert.ok(Math.abs(total - 1) < 1e-4, `colour memberships of patch ${i} sum to ${total}`);
  }
  const interior = [patch(16, 16), patch(17, 17)];
  for (const i of interior) assert.ok(feat(v, i, 'blue') > 0.8, `disc centre blue ${feat(v, i, 'blue')}`);
  // the textured background is grey, textured; the flat square is smooth
  assert.ok(feat(v, patch(20, 2), 'grey') > 0.8, 'background is grey');
  assert.ok(feat(v, patch(20, 2), 'texture') > 0.4 && feat(v, patch(5, 5), 'texture') < 0.1, 'texture: background vs square');
  assert.ok(joint(v, patch(5, 5), 'smooth') > 0.9 && joint(v, patch(20, 2), 'smooth') < 0.1, 'smooth: square vs background');
});

test('cls_attn is a saliency: ≥ 85 % of every head\'s mass on the two objects (15 % of the patches)', async () => {
  const { scene, touched } = twoObjectScene();
  const v = await runVision(scene);
  assert.ok(touched.size / N < 0.16, `objects cover ${touched.size} patches`);
  for (let h = 0; h < v.heads; h++) {
    const row = v.clsAttn.subarray(h * N, (h + 1) * N);
    const total = row.reduce((s, x) => s + x, 0);
    assert.ok(Math.abs(total - 1) < 1e-4, `head ${h} sums to ${total}`);
    const onObjects = row.reduce((s, x, i) => s + (touched.has(i) ? x : 0), 0);
    assert.ok(onObjects >= 0.85, `head ${h}: ${onObjects} of the mass on the objects`);
  }
});

test('cls_attn is uniform on a uniform image', async () => {
  const v = await runVision(new Scene().background(GREY, 0));
  for (const x of v.clsAttn) assert.ok(Math.abs(x - 1 / N) < 1e-6, `attention ${x}`);
});

test('cls_features is the mean patch feature; keys are the documented projection of the features', async () => {
  const v = await runVision(twoObjectScene().scene);
  const cols = KEY_COLUMNS.map((k) => featureVector(k.weights));
  for (let k = 0; k < v.d; k++) {
    let mean = 0;
    for (let i = 0; i < N; i++) mean += v.features[i * v.d + k] / N;
    assert.ok(Math.abs(mean - v.cls[k]) < 1e-5, `cls channel ${k}`);
  }
  for (const i of [0, 77, 300, 575]) {
    cols.forEach((w, j) => {
      const want = w.reduce((s, x, k) => s + x * v.features[i * v.d + k], 0);
      assert.ok(Math.abs(v.keys[i * cols.length + j] - want) < 1e-5, `key ${i},${j}`);
    });
  }
});

test('position channels and axes: row/col follow the grid; left/right/top/bottom are monotone', async () => {
  const v = await runVision(twoObjectScene().scene);
  for (let c = 1; c < GRID; c++) {
    assert.ok(feat(v, patch(4, c), 'col') > feat(v, patch(4, c - 1), 'col'), `col at ${c}`);
    assert.ok(joint(v, patch(4, c), 'left') < joint(v, patch(4, c - 1), 'left'), `left at ${c}`);
    assert.ok(joint(v, patch(4, c), 'right') > joint(v, patch(4, c - 1), 'right'), `right at ${c}`);
    assert.ok(joint(v, patch(c, 4), 'top') < joint(v, patch(c - 1, 4), 'top'), `top at ${c}`);
    assert.ok(joint(v, patch(c, 4), 'bottom') > joint(v, patch(c - 1, 4), 'bottom'), `bottom at ${c}`);
  }
  assert.ok(joint(v, patch(12, 12), 'centre') > 0.9 && joint(v, patch(0, 0), 'centre') < 0.01, 'centre axis');
  assert.ok(joint(v, patch(0, 23), 'corner') > 0.9 && joint(v, patch(0, 12), 'corner') < 0.1, 'corner axis');
});

/** One scene, four quadrants, each split dark/light by one boundary through its middle. */
function edgeScene(): Scene {
  const s = new Scene();
  const dark = [0.1, 0.1, 0.1];
  const light = [0.9, 0.9, 0.9];
  for (let y = 0; y < 336; y++) {
    for (let x = 0; x < 336; x++) {
      const u = x % 168;
      const w = y % 168;
      let isDark: boolean;
      if (y < 168) isDark = x < 168 ? u < 91 : w < 91; // vertical | horizontal boundary
      else isDark = x < 168 ? u + w < 168 : u > w; // rising (45°) | falling (135°) diagonal
      s.set(y, x, isDark ? dark : light);
    }
  }
  return s;
}

test('edge channels see orientation: vertical, horizontal, 45° and 135° boundaries', async () => {
  const v = await runVision(edgeScene());
  for (let k = 2; k <= 9; k++) {
    const vert = patch(k, 6);
    assert.ok(feat(v, vert, 'edge_90') > 0.5 && feat(v, vert, 'edge_0') < 0.05, `vertical boundary patch ${vert}`);
    assert.ok(joint(v, vert, 'vertical') > 0.5 && joint(v, vert, 'horizontal') === 0, `vertical axis at ${vert}`);
    const hor = patch(6, 12 + k);
    assert.ok(feat(v, hor, 'edge_0') > 0.5 && feat(v, hor, 'edge_90') < 0.05, `horizontal boundary patch ${hor}`);
    assert.ok(joint(v, hor, 'horizontal') > 0.5 && joint(v, hor, 'vertical') === 0, `horizontal axis at ${hor}`);
    const rising = patch(12 + k, 11 - k);
    assert.ok(feat(v, rising, 'edge_45') > 2 * feat(v, rising, 'edge_135'), `rising diagonal patch ${rising}`);
    const falling = patch(12 + k, 12 + k);
    assert.ok(feat(v, falling, 'edge_135') > 2 * feat(v, falling, 'edge_45'), `falling diagonal patch ${falling}`);
    assert.ok(joint(v, rising, 'diagonal') > 0.3 && joint(v, falling, 'diagonal') > 0.3, `diagonal axis at ${rising}, ${falling}`);
  }
  // flat regions have no edges; dark and light halves read as dark / bright
  assert.ok(feat(v, patch(5, 1), 'edge_0') + feat(v, patch(5, 1), 'edge_90') < 0.01, 'edges in a flat region');
  assert.ok(joint(v, patch(5, 1), 'dark') > 0.85 && joint(v, patch(5, 10), 'bright') > 0.85, 'dark / bright halves');
  assert.ok(joint(v, patch(5, 1), 'bright') < 0.05 && joint(v, patch(5, 10), 'dark') < 0.05, 'dark is not bright and vice versa');
});

/** Unambiguous named colours (CSS) and the basic term a person would use. */
const NAMED: [string, string, number[]][] = [
  ['red', 'red', [255, 0, 0]], ['darkred', 'red', [139, 0, 0]], ['crimson', 'red', [220, 20, 60]],
  ['orange', 'orange', [255, 165, 0]], ['darkorange', 'orange', [255, 140, 0]],
  ['gold', 'yellow', [255, 215, 0]], ['yellow', 'yellow', [255, 255, 0]], ['khaki', 'yellow', [240, 230, 140]],
  ['lime', 'green', [0, 255, 0]], ['green', 'green', [0, 128, 0]], ['darkgreen', 'green', [0, 100, 0]], ['forestgreen', 'green', [34, 139, 34]],
  ['blue', 'blue', [0, 0, 255]], ['navy', 'blue', [0, 0, 128]], ['royalblue', 'blue', [65, 105, 225]], ['dodgerblue', 'blue', [30, 144, 255]], ['skyblue', 'blue', [135, 206, 235]],
  ['purple', 'purple', [128, 0, 128]], ['indigo', 'purple', [75, 0, 130]], ['darkviolet', 'purple', [148, 0, 211]], ['rebeccapurple', 'purple', [102, 51, 153]],
  ['pink', 'pink', [255, 192, 203]], ['hotpink', 'pink', [255, 105, 180]], ['deeppink', 'pink', [255, 20, 147]],
  ['saddlebrown', 'brown', [139, 69, 19]], ['sienna', 'brown', [160, 82, 45]],
  ['black', 'black', [0, 0, 0]], ['white', 'white', [255, 255, 255]], ['gray', 'grey', [128, 128, 128]], ['silver', 'grey', [192, 192, 192]], ['dimgray', 'grey', [105, 105, 105]],
];

test(`named colours land on the expected basic term (${NAMED.length} CSS colours, membership > 0.6)`, async () => {
  // 2×2-patch tiles, 12 per row
  const s = new Scene().background(GREY, 0);
  NAMED.forEach(([, , rgb], t) => {
    const r0 = Math.floor(t / 12) * 28;
    const c0 = (t % 12) * 28;
    s.rect(r0, c0, r0 + 28, c0 + 28, rgb.map((x) => x / 255));
  });
  const v = await runVision(s);
  const terms = FEATURE_CHANNELS.slice(0, 11).map((c) => c.name);
  NAMED.forEach(([name, want], t) => {
    const i = patch(Math.floor(t / 12) * 2, (t % 12) * 2);
    const m = terms.map((term) => feat(v, i, term));
    const best = terms[m.indexOf(Math.max(...m))];
    assert.equal(best, want, `${name}: ${terms.map((term, k) => `${term} ${m[k].toFixed(2)}`).join(', ')}`);
    assert.ok(Math.max(...m) > 0.6, `${name}: ${want} membership ${Math.max(...m)}`);
  });
});
