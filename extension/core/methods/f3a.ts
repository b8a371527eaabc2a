import type { MethodSpec } from './types.ts';

// PLACEHOLDER — being implemented; replaced by the real method.
export const f3a: MethodSpec = {
  id: 'f3a',
  label: 'f3a',
  source: '',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [],
  selection: 'ranked',
  budgetParams: () => null,
  run: () => {
    throw new Error('f3a is not implemented yet');
  },
};
