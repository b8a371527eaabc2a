import { InputError } from '../errors.ts';
import type { MethodSpec } from './types.ts';
import { gprune } from './gprune.ts';
import { codebook } from './codebook.ts';
import { f3a } from './f3a.ts';
import { fastv } from './fastv.ts';
import { visionzip } from './visionzip.ts';
import { divprune } from './divprune.ts';
import { cdpruner } from './cdpruner.ts';
import { prumerge } from './prumerge.ts';
import { tome } from './tome.ts';
import { randomBaseline } from './random.ts';
import { uniformBaseline } from './uniform.ts';

/** Every method, in display order: the three seed papers first, then baselines. */
export const METHODS: readonly MethodSpec[] = [
  f3a,
  gprune,
  codebook,
  fastv,
  visionzip,
  divprune,
  cdpruner,
  prumerge,
  tome,
  randomBaseline,
  uniformBaseline,
];

export function getMethod(id: string): MethodSpec {
  const m = METHODS.find((x) => x.id === id);
  if (!m) throw new InputError(`Unknown method "${id}"; available: ${METHODS.map((x) => x.id).join(', ')}.`);
  return m;
}
