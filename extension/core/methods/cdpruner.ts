import type { MethodSpec } from './types.ts';

// PLACEHOLDER — being implemented; replaced by the real method.
export const cdpruner: MethodSpec = {
  id: 'cdpruner',
  label: 'cdpruner',
  source: '',
  family: 'baseline',
  needs: ['features'],
  optional: [],
  params: [],
  selection: 'ranked',
  budgetParams: () => null,
  run: () => {
    throw new Error('cdpruner is not implemented yet');
  },
};
