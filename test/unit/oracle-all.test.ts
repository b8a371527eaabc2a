// Every oracle record, replayed through the same parameter/role mapping the CLI uses, in-process.
import { test } from 'node:test';
import { prune } from '../../extension/core/methods/prune.ts';
import { parseRoleMapping, resultJson } from '../../extension/cli/prune.ts';
import { loadOracleCase, oracleCaseNames } from '../helpers/oracle.ts';
import { assertMatchesRecord, replayOf } from '../helpers/oracle-replay.ts';

for (const name of oracleCaseNames()) {
  test(`oracle ${name}: every record reproduced (indices exact, floats within README tolerance)`, () => {
    const c = loadOracleCase(name);
    c.json.results.forEach((r, i) => {
      const rep = replayOf(r);
      const result = prune(c.bundle, rep.method, rep.params, parseRoleMapping(rep.inputs));
      assertMatchesRecord(resultJson(result), r, `${name}#${i} ${r.method} ${JSON.stringify(r.params)}`);
    });
  });
}
