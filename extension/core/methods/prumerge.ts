import type { MethodSpec } from './types.ts';

// PLACEHOLDER — being implemented; replaced by the real method.
export const prumerge: MethodSpec = {
  id: 'prumerge',
  label: 'prumerge',
  source: '',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [],
  selection: 'ranked',
  budgetParams: () => null,
  run: () => {
    throw new Error('prumerge is not implemented yet');
  },
};
