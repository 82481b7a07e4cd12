import type { TandemClient } from './client.js';
import { TandemError } from './errors.js';
import { toDoc, type Doc } from './doc.js';
import type { JsonObject, Position } from './protocol.js';

/** One page of `Documents.query`. */
export interface QueryPage<T extends JsonObject = JsonObject> {
  readonly docType: string;
  readonly documents: Doc<T>[];
  /** Cursor of the next page, or null on the last one. */
  readonly next: string | null;
  /** The channel the matching documents publish their changes to, if any. */
  readonly channel: string | null;
  /** The channel's position, read just before the page (null without a channel). */
  readonly position: Position | null;
}

/**
 * The reading half of `Documents`: `doc.get` and `doc.query` with their replies checked, and the
 * newest version of each document this client has seen (replies, snapshots, events), which new
 * edits are based on.
 */
export class DocumentReads {
  private readonly versions = new Map<string, number>();

  constructor(private readonly client: TandemClient) {}

  /** See `Documents.get`. */
  async get<T extends JsonObject = JsonObject>(docType: string, docId: string): Promise<Doc<T> | null> {
    let body: JsonObject;
    try {
      body = await this.client.request({ op: 'doc.get', docType, docId });
    } catch (e) {
      if (e instanceof TandemError && e.code === 'not_found') {
        return null;
      }
      throw e;
    }
    const doc = toDoc<T>(body['document']);
    if (doc === undefined) {
      throw new TandemError('protocol', 'doc.get reply without a document', { transient: false });
    }
    this.saw(doc.docType, doc.docId, doc.version);
    return doc;
  }

  /** See `Documents.query`. */
  async query<T extends JsonObject = JsonObject>(
    docType: string,
    where: JsonObject,
    page: { limit?: number; after?: string },
  ): Promise<QueryPage<T>> {
    const body = await this.client.request({
      op: 'doc.query',
      docType,
      where,
      ...(page.limit === undefined ? {} : { limit: page.limit }),
      ...(page.after === undefined ? {} : { after: page.after }),
    });
    const list = body['documents'];
    const channel = body['channel'];
    const epoch = body['epoch'];
    const offset = body['offset'];
    const hasChannel = typeof channel === 'string';
    if (!Array.isArray(list) || (hasChannel && (typeof epoch !== 'string' || typeof offset !== 'number'))) {
      throw new TandemError('protocol', 'doc.query reply without documents, or a channel without its position', {
        transient: false,
      });
    }
    const documents: Doc<T>[] = [];
    for (const d of list) {
      const doc = toDoc<T>(d);
      if (doc !== undefined) {
        documents.push(doc);
        this.saw(doc.docType, doc.docId, doc.version);
      }
    }
    const next = body['next'];
    return {
      docType,
      documents,
      next: typeof next === 'string' ? next : null,
      channel: hasChannel ? channel : null,
      position: hasChannel ? { epoch: epoch as string, offset: offset as number } : null,
    };
  }

  /** The newest version of the document seen, if any. */
  version(docType: string, docId: string): number | undefined {
    return this.versions.get(key(docType, docId));
  }

  /** Records a version seen. */
  saw(docType: string, docId: string, version: number): void {
    const k = key(docType, docId);
    if ((this.versions.get(k) ?? 0) < version) {
      this.versions.set(k, version);
    }
  }
}

function key(docType: string, docId: string): string {
  return `${docType}\u0000${docId}`;
}
