// Every oracle record again, with the similarity kernels forced onto onnxruntime in float32 at every size
// (by default the small oracle cases stay in float64 TypeScript): the fast path must not flip a decision.
import { test } from 'node:test';
import { prune } from '../../extension/core/methods/prune.ts';
import { configureKernels, type KernelBackend, type KernelPrecision } from '../../extension/core/numeric/gemm.ts';
import { parseRoleMapping, resultJson } from '../../extension/cli/prune.ts';
import { loadOracleCase, oracleCaseNames } from '../helpers/oracle.ts';
import { assertMatchesRecord, replayOf } from '../helpers/oracle-replay.ts';

const PLANS: [KernelBackend, KernelPrecision][] = [
  ['ort', 'f32'],
  ['ts', 'f32'],
];

for (const [backend, precision] of PLANS) {
  test(`oracle records with kernels forced to ${backend}/${precision}: indices exact, floats within README tolerance`, () => {
    configureKernels({ backend, precision });
    try {
      for (const name of oracleCaseNames()) {
        const c = loadOracleCase(name);
        c.json.results.forEach((r, i) => {
          const rep = replayOf(r);
          const result = prune(c.bundle, rep.method, rep.params, parseRoleMapping(rep.inputs));
          assertMatchesRecord(resultJson(result), r, `${backend}/${precision} ${name}#${i} ${r.method} ${JSON.stringify(r.params)}`);
        });
      }
    } finally {
      configureKernels({ backend: 'auto', precision: 'auto' });
    }
  });
}
