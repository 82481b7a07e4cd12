import type { Unsubscribe } from './emitter.js';

/** A change of the network or of the page that the client reacts to. */
export type EnvironmentChange = 'online' | 'offline' | 'visible' | 'hidden';

/**
 * Where the client runs: whether the network is up and whether anyone looks at the page. The
 * client pauses while offline (no reconnect attempts, queued edits stay queued), reconnects
 * soon after `online` or `visible` (with a random delay so that many clients do not come back
 * at the same instant), and keeps its connection while hidden.
 */
export interface Environment {
  /** Whether the network is believed to be up. */
  online(): boolean;
  /** Whether the page is visible (always true outside browsers). */
  visible(): boolean;
  /** Reports changes; returns the function that stops reporting. */
  subscribe(listener: (change: EnvironmentChange) => void): Unsubscribe;
}

/**
 * The browser's signals: `navigator.onLine` with the window's `online`/`offline` events, and
 * `document.visibilityState` with `visibilitychange`. Undefined outside a browser page.
 */
export function browserEnvironment(): Environment | undefined {
  const g = globalThis as unknown as {
    window?: { addEventListener(t: string, l: () => void): void; removeEventListener(t: string, l: () => void): void };
    navigator?: { onLine?: boolean };
    document?: {
      visibilityState?: string;
      addEventListener(t: string, l: () => void): void;
      removeEventListener(t: string, l: () => void): void;
    };
  };
  const win = g.window;
  if (win === undefined || typeof win.addEventListener !== 'function') {
    return undefined;
  }
  const doc = g.document;
  return {
    online: () => g.navigator?.onLine !== false,
    visible: () => doc?.visibilityState !== 'hidden',
    subscribe(listener) {
      const online = (): void => listener('online');
      const offline = (): void => listener('offline');
      const visibility = (): void => listener(doc?.visibilityState === 'hidden' ? 'hidden' : 'visible');
      win.addEventListener('online', online);
      win.addEventListener('offline', offline);
      doc?.addEventListener('visibilitychange', visibility);
      return () => {
        win.removeEventListener('online', online);
        win.removeEventListener('offline', offline);
        doc?.removeEventListener('visibilitychange', visibility);
      };
    },
  };
}

/**
 * An environment the application drives itself: for Node, for tests, or for an app that knows
 * better than the browser (a "work offline" switch).
 */
export class ManualEnvironment implements Environment {
  private isOnline: boolean;
  private isVisible: boolean;
  private readonly listeners = new Set<(change: EnvironmentChange) => void>();

  constructor(initial: { online?: boolean; visible?: boolean } = {}) {
    this.isOnline = initial.online ?? true;
    this.isVisible = initial.visible ?? true;
  }

  online(): boolean {
    return this.isOnline;
  }

  visible(): boolean {
    return this.isVisible;
  }

  subscribe(listener: (change: EnvironmentChange) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Says the network went down or came back. */
  setOnline(online: boolean): void {
    if (online !== this.isOnline) {
      this.isOnline = online;
      this.listeners.forEach((l) => l(online ? 'online' : 'offline'));
    }
  }

  /** Says the page was hidden or shown. */
  setVisible(visible: boolean): void {
    if (visible !== this.isVisible) {
      this.isVisible = visible;
      this.listeners.forEach((l) => l(visible ? 'visible' : 'hidden'));
    }
  }
}
