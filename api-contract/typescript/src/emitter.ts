/** Logs what the client cannot hand to anyone else. Every method is optional in options. */
export interface Logger {
  debug(message: string, ...details: unknown[]): void;
  info(message: string, ...details: unknown[]): void;
  warn(message: string, ...details: unknown[]): void;
  error(message: string, ...details: unknown[]): void;
}

/** Warnings and errors to the console; debug and info dropped. */
export const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn(message, ...details) {
    console.warn(`tandem: ${message}`, ...details);
  },
  error(message, ...details) {
    console.error(`tandem: ${message}`, ...details);
  },
};

/** Stops a listener; calling it twice is harmless. */
export type Unsubscribe = () => void;

/**
 * A small typed event emitter. Listeners run synchronously, in registration order; one that
 * throws is logged and does not stop the others (nor the client).
 */
export class Emitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  constructor(private readonly log: Logger) {}

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(event: K, listener: Events[K]): Unsubscribe {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Whether anyone listens to the event. */
  has<K extends keyof Events>(event: K): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** Calls every listener of the event. */
  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.listeners.get(event);
    if (set === undefined) {
      return;
    }
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[K]>) => void)(...args);
      } catch (e) {
        this.log.error(`a '${String(event)}' listener failed`, e);
      }
    }
  }
}
