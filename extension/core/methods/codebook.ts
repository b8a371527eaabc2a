import type { MethodSpec } from './types.ts';

// PLACEHOLDER — being implemented; replaced by the real method.
export const codebook: MethodSpec = {
  id: 'codebook',
  label: 'codebook',
  source: '',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [],
  selection: 'ranked',
  budgetParams: () => null,
  run: () => {
    throw new Error('codebook is not implemented yet');
  },
};
