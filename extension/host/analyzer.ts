/** Runs an analysis with a cancellable progress notification and logs what ran, where, and how long. */
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { AnalysisCache } from '../core/analyze/cache.ts';
import type { EncodeWorker } from '../core/analyze/encode.ts';
import { runAnalysis } from '../core/analyze/pipeline.ts';
import type { AnalysisOutcome, AnalyzeRequest } from '../core/analyze/types.ts';
import { isCancellation, logText, userMessage } from './errors.ts';
import { outcomeLog } from './log-lines.ts';

export class Analyzer {
  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly cache: AnalysisCache,
    private readonly worker: () => EncodeWorker,
  ) {}

  /** The outcome, or undefined when cancelled or failed (the user has been told). */
  async run(req: AnalyzeRequest, location = vscode.ProgressLocation.Notification): Promise<AnalysisOutcome | undefined> {
    const target = req.image ?? req.bundlePath ?? '';
    const name = basename(target);
    this.log.info(`analyze ${target}: question ${req.question.trim() ? JSON.stringify(req.question.trim()) : '(none)'}, model ${req.model ?? '(bundle)'}, provider setting ${req.provider}, threads ${req.threads || 'auto'}, methods ${req.methods === 'all' ? 'all' : req.methods.join(',')}`);
    const t0 = performance.now();
    try {
      const outcome = await vscode.window.withProgress({ location, title: `PruneLens: analysing ${name}`, cancellable: true }, async (progress, token) => {
        const ac = new AbortController();
        const sub = token.onCancellationRequested(() => ac.abort());
        let done = 0;
        try {
          return await runAnalysis(
            req,
            {
              signal: ac.signal,
              onProgress: (p) => {
                const f = p.fraction === undefined ? undefined : Math.round(p.fraction * 100);
                const increment = f !== undefined && f > done ? f - done : undefined;
                if (f !== undefined && f > done) done = f;
                progress.report({ message: p.message, increment });
                this.log.debug(`${p.stage}: ${p.message}`);
              },
            },
            { worker: req.image ? this.worker() : undefined, cache: this.cache },
          );
        } finally {
          sub.dispose();
        }
      });
      for (const line of outcomeLog(outcome, performance.now() - t0)) this.log.info(line);
      return outcome;
    } catch (err) {
      if (isCancellation(err)) {
        this.log.info(`analyze ${name}: cancelled after ${Math.round(performance.now() - t0)} ms`);
        return undefined;
      }
      this.log.error(`analyze ${name} failed: ${logText(err)}`);
      void vscode.window.showErrorMessage(userMessage(err, `analyse ${name}`));
      return undefined;
    }
  }
}
