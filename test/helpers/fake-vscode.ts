/**
 * A small stand-in for the `vscode` module: enough of the API for the host's activation, commands, panels,
 * serializer and webview view to run in plain Node, with every call recorded for assertions. It is not
 * VS Code (the code-server E2E covers that); it checks the host's own wiring and messages.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from './paths.ts';

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static parse(s: string): Uri {
    const m = /^([a-z-]+):\/\/(.*)$/.exec(s);
    return m ? new Uri(m[1], m[2]) : new Uri('file', s);
  }
  static joinPath(u: Uri, ...parts: string[]): Uri {
    return new Uri(u.scheme, join(u.fsPath, ...parts));
  }
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  readonly event = (l: Listener<T>): { dispose(): void } => {
    this.listeners.push(l);
    return { dispose: () => void (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Disposable {
  constructor(private readonly fn: () => void) {}
  dispose(): void {
    this.fn();
  }
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
}

export class TabInputCustom {
  constructor(
    readonly uri: Uri,
    readonly viewType: string,
  ) {}
}

export class FakeWebview {
  options: { enableScripts?: boolean; localResourceRoots?: Uri[] } = {};
  html = '';
  readonly cspSource = 'https://fake.vscode-cdn.net';
  readonly posted: unknown[] = [];
  private readonly incoming = new EventEmitter<unknown>();
  readonly onDidReceiveMessage = this.incoming.event;
  postMessage(m: unknown): Promise<boolean> {
    this.posted.push(m);
    return Promise.resolve(true);
  }
  asWebviewUri(u: Uri): Uri {
    return Uri.parse(`https://fake.vscode-cdn.net${u.fsPath}`);
  }
  /** Simulates the webview script posting to the host (structured clone, as VS Code does). */
  send(m: unknown): void {
    this.incoming.fire(structuredClone(m));
  }
}

export class FakePanel {
  readonly webview = new FakeWebview();
  iconPath: unknown;
  active = true;
  visible = true;
  disposed = false;
  revealed = 0;
  /** The editor column VS Code placed the panel in (see createWebviewPanel). */
  viewColumn: number | undefined = undefined;
  private readonly disposeEmitter = new EventEmitter<void>();
  private readonly stateEmitter = new EventEmitter<{ webviewPanel: FakePanel }>();
  readonly onDidDispose = this.disposeEmitter.event;
  readonly onDidChangeViewState = this.stateEmitter.event;
  constructor(
    readonly viewType: string,
    public title: string,
    readonly createOptions: unknown,
  ) {}
  reveal(): void {
    this.revealed++;
  }
  /** The user focuses this panel (or drags it to `column` first): VS Code fires a view-state change. */
  focus(column?: number): void {
    if (column !== undefined) this.viewColumn = column;
    this.active = true;
    recorder.activeColumn = this.viewColumn ?? recorder.activeColumn;
    this.stateEmitter.fire({ webviewPanel: this });
  }
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeEmitter.fire();
  }
}

export class FakeView {
  readonly webview = new FakeWebview();
  visible = true;
  private readonly visibility = new EventEmitter<void>();
  private readonly disposeEmitter = new EventEmitter<void>();
  readonly onDidChangeVisibility = this.visibility.event;
  readonly onDidDispose = this.disposeEmitter.event;
  setVisible(v: boolean): void {
    this.visible = v;
    this.visibility.fire();
  }
}

export interface LogLine {
  level: string;
  text: string;
}

function logChannel(lines: LogLine[]): Record<string, unknown> {
  const at =
    (level: string) =>
    (text: string): void =>
      void lines.push({ level, text });
  return { name: 'PruneLens', info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), trace: at('trace'), appendLine: at('info'), append: at('info'), show: () => {}, dispose: () => {} };
}

interface QuickPickItem {
  label: string;
  question?: string;
}

/** Everything the fake records and the answers it gives to dialogs. */
export const recorder = {
  logs: [] as LogLine[],
  errors: [] as string[],
  infos: [] as string[],
  panels: [] as FakePanel[],
  progress: [] as { title: string; messages: string[] }[],
  serializers: new Map<string, { deserializeWebviewPanel(panel: FakePanel, state: unknown): Promise<void> }>(),
  viewProviders: new Map<string, { resolveWebviewView(view: FakeView): void }>(),
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  /** Answers for the question box: a string is typed and accepted, null dismisses it. */
  questions: [] as (string | null)[],
  saveAnswers: [] as (Uri | undefined)[],
  openAnswers: [] as (Uri[] | undefined)[],
  config: {} as Record<string, unknown>,
  trusted: true,
  cancelNextProgress: false,
  /** The active editor group's column (1: the image the user right-clicked). */
  activeColumn: 1,
};

export const window = {
  createOutputChannel: (): unknown => logChannel(recorder.logs),
  createWebviewPanel(viewType: string, title: string, show: number | { viewColumn: number; preserveFocus?: boolean }, options: unknown): FakePanel {
    const p = new FakePanel(viewType, title, options);
    const column = typeof show === 'number' ? show : show.viewColumn;
    // As VS Code: a positive column is used as is; Beside is the group right of the active one.
    p.viewColumn = column > 0 ? column : column === ViewColumn.Beside ? recorder.activeColumn + 1 : recorder.activeColumn;
    if (typeof show === 'number' || !show.preserveFocus) recorder.activeColumn = p.viewColumn;
    recorder.panels.push(p);
    return p;
  },
  registerWebviewPanelSerializer(viewType: string, s: { deserializeWebviewPanel(panel: FakePanel, state: unknown): Promise<void> }): Disposable {
    recorder.serializers.set(viewType, s);
    return new Disposable(() => recorder.serializers.delete(viewType));
  },
  registerWebviewViewProvider(id: string, p: { resolveWebviewView(view: FakeView): void }): Disposable {
    recorder.viewProviders.set(id, p);
    return new Disposable(() => recorder.viewProviders.delete(id));
  },
  async withProgress<T>(opts: { title: string }, task: (p: { report(v: { message?: string }): void }, t: { isCancellationRequested: boolean; onCancellationRequested(l: () => void): Disposable }) => Promise<T>): Promise<T> {
    const entry = { title: opts.title, messages: [] as string[] };
    recorder.progress.push(entry);
    const cancel = new EventEmitter<void>();
    const token = { isCancellationRequested: false, onCancellationRequested: (l: () => void) => new Disposable(cancel.event(l).dispose) };
    const run = task({ report: (v) => void (v.message && entry.messages.push(v.message)) }, token);
    if (recorder.cancelNextProgress) {
      recorder.cancelNextProgress = false;
      setTimeout(() => {
        token.isCancellationRequested = true;
        cancel.fire();
      }, 0);
    }
    return run;
  },
  showErrorMessage: (m: string): Promise<undefined> => {
    recorder.errors.push(m);
    return Promise.resolve(undefined);
  },
  showInformationMessage: (m: string): Promise<undefined> => {
    recorder.infos.push(m);
    return Promise.resolve(undefined);
  },
  showSaveDialog: (): Promise<Uri | undefined> => Promise.resolve(recorder.saveAnswers.shift()),
  showOpenDialog: (): Promise<Uri[] | undefined> => Promise.resolve(recorder.openAnswers.shift()),
  createQuickPick() {
    const accept = new EventEmitter<void>();
    const hide = new EventEmitter<void>();
    const change = new EventEmitter<string>();
    const qp = {
      title: '',
      placeholder: '',
      matchOnDescription: false,
      value: '',
      items: [] as QuickPickItem[],
      activeItems: [] as QuickPickItem[],
      selectedItems: [] as QuickPickItem[],
      onDidAccept: accept.event,
      onDidHide: hide.event,
      onDidChangeValue: change.event,
      show(): void {
        const answer = recorder.questions.shift();
        setTimeout(() => {
          if (answer === null || answer === undefined) {
            hide.fire();
            return;
          }
          qp.value = answer;
          change.fire(answer);
          qp.activeItems = qp.items.length > 0 ? [qp.items[0]] : [];
          accept.fire();
        }, 0);
      },
      hide(): void {
        hide.fire();
      },
      dispose(): void {},
    };
    return qp;
  },
  tabGroups: { activeTabGroup: { activeTab: undefined as { input: unknown } | undefined } },
};

export const workspace = {
  get isTrusted(): boolean {
    return recorder.trusted;
  },
  workspaceFolders: undefined as { uri: Uri }[] | undefined,
  getConfiguration(section: string) {
    return {
      inspect: (key: string) => {
        const full = `${section}.${key}`;
        return full in recorder.config ? { globalValue: recorder.config[full] } : {};
      },
    };
  },
  fs: {
    writeFile: (uri: Uri, data: Uint8Array): Promise<void> => {
      mkdirSync(dirname(uri.fsPath), { recursive: true });
      writeFileSync(uri.fsPath, data);
      return Promise.resolve();
    },
  },
};

export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown): Disposable {
    recorder.commands.set(id, fn);
    return new Disposable(() => recorder.commands.delete(id));
  },
  executeCommand(id: string, ...args: unknown[]): unknown {
    const fn = recorder.commands.get(id);
    if (!fn) throw new Error(`command ${id} is not registered`);
    return fn(...args);
  },
};

/** A Memento backed by a Map. */
export function memento(): { get<T>(key: string, d?: T): T | undefined; update(key: string, v: unknown): Promise<void>; keys(): readonly string[] } {
  const m = new Map<string, unknown>();
  return {
    get: <T>(key: string, d?: T): T | undefined => (m.has(key) ? (m.get(key) as T) : d),
    update: (key, v) => {
      m.set(key, structuredClone(v));
      return Promise.resolve();
    },
    keys: () => [...m.keys()],
  };
}

/** The ExtensionContext the host activates with: this repository as the extension, storage under `storage`. */
export function extensionContext(storage: string) {
  return {
    subscriptions: [] as { dispose(): void }[],
    extensionUri: Uri.file(REPO),
    globalStorageUri: Uri.file(join(storage, 'global')),
    workspaceState: memento(),
    globalState: memento(),
    extension: { packageJSON: JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as unknown },
  };
}
