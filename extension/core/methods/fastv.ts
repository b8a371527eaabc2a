import type { MethodSpec } from './types.ts';

// PLACEHOLDER — being implemented; replaced by the real method.
export const fastv: MethodSpec = {
  id: 'fastv',
  label: 'fastv',
  source: '',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [],
  selection: 'ranked',
  budgetParams: () => null,
  run: () => {
    throw new Error('fastv is not implemented yet');
  },
};
