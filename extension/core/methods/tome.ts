import type { MethodSpec } from './types.ts';

// PLACEHOLDER — being implemented; replaced by the real method.
export const tome: MethodSpec = {
  id: 'tome',
  label: 'tome',
  source: '',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [],
  selection: 'ranked',
  budgetParams: () => null,
  run: () => {
    throw new Error('tome is not implemented yet');
  },
};
