/**
 * The client side of delta subscriptions (`delta: 'fossil'`): turns their events back into
 * whole payloads, so handlers never see a delta.
 *
 * Per channel it holds the last durable payload's text and position. A `delta: false` event
 * carries the whole text and replaces what is held; a `delta: true` event is applied to what is
 * held when it follows it directly (the next offset of the same epoch). A delta that does not
 * follow (a gap), has nothing to apply to, or fails its checksum breaks the chain: the channel's
 * events are dropped until it is subscribed again, from the last whole position, which the
 * client does on a `broken` outcome.
 *
 * @module
 */
import { applyDelta, DeltaError } from './fossil.js';
import type { EventFrame, Json, Position } from './protocol.js';

/** The delta format there is. */
export type DeltaFormat = 'fossil';

/** What became of an event: handed on whole, the chain just broke (resubscribe), or dropped while it is mended. */
export type DeltaOutcome =
  | { readonly kind: 'whole'; readonly frame: EventFrame }
  | { readonly kind: 'broken'; readonly why: string }
  | { readonly kind: 'dropped' };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The delta chains of a client's channels. */
export class Deltas {
  private readonly held = new Map<string, { position: Position; text: Uint8Array }>();
  private readonly broken = new Set<string>();

  /** The format to ask for when (re)subscribing, if any handle of the channel asked for one. */
  static asked(extras: Iterable<{ delta?: DeltaFormat }>): DeltaFormat | undefined {
    for (const e of extras) {
      if (e.delta === 'fossil') {
        return 'fossil';
      }
    }
    return undefined;
  }

  /**
   * A subscribe for the channel was answered: what follows belongs to the new subscription, whose
   * first event is whole, so a broken chain is mended. The payload held stays: it is the text of
   * its position whichever subscription brought it, and a delta is applied only to the position
   * right before it (over SSE a stream may deliver the channel's events before the reply does).
   */
  subscribed(channel: string): void {
    this.broken.delete(channel);
  }

  /** Forgets a channel (unsubscribed). */
  forget(channel: string): void {
    this.held.delete(channel);
    this.broken.delete(channel);
  }

  /** Resolves an event into one whose data is the whole payload, or says the chain is broken. */
  resolve(f: EventFrame): DeltaOutcome {
    if (f.delta === undefined) {
      return { kind: 'whole', frame: f };
    }
    if (this.broken.has(f.channel)) {
      return { kind: 'dropped' };
    }
    let text: Uint8Array;
    if (!f.delta) {
      text = encoder.encode(f.data as string);
    } else {
      const base = this.held.get(f.channel);
      const at = f.position;
      if (base === undefined || at === undefined || at.epoch !== base.position.epoch || at.offset !== base.position.offset + 1) {
        const from = base === undefined ? 'a whole payload' : `${base.position.epoch}/${base.position.offset}`;
        return this.broke(f.channel, `a delta at ${at === undefined ? '-' : `${at.epoch}/${at.offset}`} does not follow ${from}`);
      }
      try {
        text = applyDelta(base.text, f.data as string);
      } catch (e) {
        if (e instanceof DeltaError) {
          return this.broke(f.channel, e.message);
        }
        throw e;
      }
    }
    let data: Json;
    try {
      data = JSON.parse(decoder.decode(text)) as Json;
    } catch (e) {
      return this.broke(f.channel, `the payload is not JSON: ${String(e)}`);
    }
    if (f.position !== undefined) {
      this.held.set(f.channel, { position: f.position, text });
    }
    const whole: EventFrame = { ...f, data };
    delete (whole as { delta?: boolean }).delta;
    return { kind: 'whole', frame: whole };
  }

  private broke(channel: string, why: string): DeltaOutcome {
    this.held.delete(channel);
    this.broken.add(channel);
    return { kind: 'broken', why };
  }
}
