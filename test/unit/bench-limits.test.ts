import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LimitsResult, limitsMarkdown } from '../../bench/limits.ts';

function result(): LimitsResult {
  const row = (id: string, ours: number[] | null, ref: number[] | null) => ({ id, label: id, ours, ref, batch: 4 });
  return {
    rows: [
      // Medians: one slow sample per side must not move them.
      row('gprune', [5.9, 6, 6.1, 100], [17, 18, 18, 19]),
      row('gprune.gram', [4], [3]),
      row('gprune.matrix_power', null, [6]),
      row('codebook', [3], [2.7]),
      row('codebook.gemm', [2.5], [2]),
    ],
    runs: 4,
    date: '2026-11-22',
    loadStart: [0.5, 0.5, 0.5],
    loadEnd: [0.6, 0.6, 0.6],
  };
}

test('limits section: medians, ratios and the derived rest of each method', () => {
  const md = limitsMarkdown(result(), 'npm run bench -- --only=limits --runs=4');
  const line = (label: string): string[] => {
    const found = md.split('\n').find((l) => l.startsWith(`| ${label} |`));
    assert.ok(found, `row ${label}`);
    return found.split('|').map((c) => c.trim());
  };
  // Median of 5.9, 6, 6.1, 100 is 6.05; of 17, 18, 18, 19 is 18.
  assert.deepEqual(line('gprune').slice(2, 5), ['6.05', '18.0', '2.98×']);
  assert.deepEqual(line('gprune.matrix_power').slice(2, 5), ['—', '6.00', '—']);
  // G-Prune's rest: 6.05 − 4 on our side, 18 − 3 − 6 on the reference's.
  assert.deepEqual(line("G-Prune, everything besides the Gram (and the reference's matrix power)").slice(2, 5), ['2.05', '9.00', '4.39×']);
  assert.deepEqual(line('Codebook, everything besides the product').slice(2, 5), ['0.50', '0.70', '1.40×']);
  assert.match(md, /needs PruneLens under 6\.00 ms \(a third of the reference's 18\.0 ms\)/);
  assert.match(md, /Its Gram alone takes 4\.00 ms \(0\.75× the speed of the reference's own Gram\), which leaves 2\.00 ms/);
  assert.match(md, /PruneLens's graph takes 2\.50 ms and the reference's 2\.00 ms \(0\.80×\), 83 % of PruneLens's whole method\. The method's ratio \(0\.90×\)/);
  assert.match(md, /Command: `npm run bench -- --only=limits --runs=4`/);
});

/** The section for result() with one line's PruneLens samples replaced. */
function markdownWith(id: string, ours: number[]): string {
  const res = result();
  const row = res.rows.find((r) => r.id === id);
  assert.ok(row?.ours, `line ${id}`);
  row.ours = ours;
  return limitsMarkdown(res, 'npm run bench -- --only=limits');
}

test('limits section: a part slower than its whole method reads as noise, not as a negative time', () => {
  const md = markdownWith('codebook.gemm', [3.4]);
  const row = md.split('\n').find((l) => l.startsWith('| Codebook, everything besides the product |'));
  assert.ok(row);
  assert.deepEqual(
    row.split('|').map((c) => c.trim()).slice(2, 5),
    ['< 0 (noise)', '0.70', '—'],
  );
});

test('limits section: a Gram slower than the whole 3× budget is said to be over it', () => {
  const md = markdownWith('gprune.gram', [6.5]);
  assert.match(md, /Its Gram alone takes 6\.50 ms \(0\.46× the speed of the reference's own Gram\), already more than the whole budget\./);
});

test('limits section: a paired 95 % interval where a line has enough pairs, a dash where it has not', () => {
  const res = result();
  const gprune = res.rows.find((r) => r.id === 'gprune');
  assert.ok(gprune);
  // Six pairs: the interval runs from the smallest to the largest speed-up (coverage 1 − 2/64).
  gprune.ours = [6, 6, 6, 6, 6, 6];
  gprune.ref = [15, 16.5, 18, 18, 19.5, 21];
  res.runs = 6;
  const md = limitsMarkdown(res, 'npm run bench -- --only=limits --runs=6');
  const cells = (label: string): string[] => (md.split('\n').find((l) => l.startsWith(`| ${label} |`)) ?? assert.fail(label)).split('|').map((c) => c.trim());
  assert.deepEqual(cells('gprune').slice(4, 6), ['3.00×', '2.50–3.50×']);
  // One sample per side (the codebook line) gives no 95 % interval of a median.
  assert.equal(cells('codebook')[5], '—');
  assert.match(md, /pairs 1 and 6 of 6 in rank order, coverage 96\.9 %/);
});
