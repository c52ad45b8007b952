// The rows a table shows: a keyed store loaded from `list_rows` and patched
// live by `PatchBatch`es. Pure: every function returns a new store (or the
// same object when nothing changed) and never mutates its input, so React can
// compare by identity.
//
// Rules (see docs/desktop-api.md):
// - Keyed by id: an upsert replaces, a remove deletes; both are idempotent.
// - An optimistic row's id is `local-<client_mutation_id>`. When the real row
//   arrives (normally `remove local-…` + `upsert real` in one batch) the local
//   row goes, in either arrival order, so a row is never shown twice.
// - Only rows matching the query are kept: a row that stops matching leaves.
// - A store may hold only a run of the list (window.ts): its `bounds`, the
//   first and last key of the run (null: from the list's start, to its
//   end). A row sorting outside them is not kept, like a row not matching.
// - Order: occurred_on desc, then id desc — the cache's list order, the
//   keyset `list_rows` pages by, so a page lands after the rows before it.
// - A page read on after the held rows (`mergePage`) is the cache's word at
//   its seq; the caller applies again, on top, the batches heard since the
//   read was sent whose seq is at or after the page's (tableRows.ts).
// - A batch whose `seq` is lower than the store's is older than the snapshot
//   and is ignored; equal seq is applied (optimistic writes don't advance seq,
//   and re-applying an upsert or remove changes nothing).

import type { Patch, PatchBatch, Row, RowKey, RowQuery } from "./types";

/** The run of the list a store holds: rows with from <= key <= to (null: no limit). */
export interface Bounds {
  readonly from: RowKey | null;
  readonly to: RowKey | null;
}

export const WHOLE_LIST: Bounds = { from: null, to: null };

export interface RowStore {
  readonly query: RowQuery;
  readonly bounds: Bounds;
  /** The cache seq the store reflects. */
  readonly seq: number;
  readonly byId: RowIndex;
  /** The rows held, in display order. */
  readonly sorted: readonly Row[];
}

export const LOCAL_PREFIX = "local-";

/**
 * An immutable id → row index. Copying a 100k-entry Map costs ~80 ms, far
 * too much per batch, so changes go into a small overlay over shared layers
 * (each loaded page adds one of its new ids: no copy either); the overlay and
 * layers are folded into one fresh layer once they grow (amortised O(1)).
 * Layers never share an id; the overlay shadows them.
 */
export class RowIndex {
  private constructor(
    private readonly layers: readonly ReadonlyMap<string, Row>[],
    private readonly overlay: ReadonlyMap<string, Row | null>,
    readonly size: number,
  ) {}

  static of(rows: Iterable<Row>): RowIndex {
    const m = new Map<string, Row>();
    for (const r of rows) m.set(r.id, r);
    return new RowIndex([m], new Map(), m.size);
  }

  /** Takes ownership of `m`: the caller must not change it afterwards. */
  static fromMap(m: Map<string, Row>): RowIndex {
    return new RowIndex([m], new Map(), m.size);
  }

  private inLayers(id: string): Row | undefined {
    for (const l of this.layers) {
      const r = l.get(id);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  get(id: string): Row | undefined {
    const o = this.overlay.get(id);
    if (o !== undefined) return o ?? undefined;
    return this.inLayers(id);
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Does any row satisfy `pred`? (A plain loop: generators are slow on 100k rows.) */
  some(pred: (r: Row) => boolean): boolean {
    for (const r of this.overlay.values()) if (r !== null && pred(r)) return true;
    for (const l of this.layers) for (const [id, r] of l) if (!this.overlay.has(id) && pred(r)) return true;
    return false;
  }

  *values(): IterableIterator<Row> {
    for (const l of this.layers) for (const [id, r] of l) if (!this.overlay.has(id)) yield r;
    for (const r of this.overlay.values()) if (r !== null) yield r;
  }

  private folded(changes: ReadonlyMap<string, Row | null>, size: number): RowIndex {
    const m = new Map<string, Row>();
    for (const l of this.layers) for (const [id, r] of l) m.set(id, r);
    for (const [id, r] of [...this.overlay, ...changes]) {
      if (r === null) m.delete(id);
      else m.set(id, r);
    }
    return new RowIndex([m], new Map(), size);
  }

  /** A new index with `changes` applied (null removes). */
  with(changes: ReadonlyMap<string, Row | null>): RowIndex {
    let size = this.size;
    for (const [id, r] of changes) size += (r === null ? 0 : 1) - (this.has(id) ? 1 : 0);
    if (this.overlay.size + changes.size > 1024) return this.folded(changes, size);
    const overlay = new Map(this.overlay);
    for (const [id, r] of changes) overlay.set(id, r);
    return new RowIndex(this.layers, overlay, size);
  }

  /** A new index with `fresh` added: rows whose ids it has none of. Takes ownership of `fresh`. */
  withNew(fresh: Map<string, Row>): RowIndex {
    if (fresh.size === 0) return this;
    // An id the overlay removed would stay shadowed in a layer: it goes in as a change.
    const shadowed = new Map<string, Row | null>();
    for (const [id, r] of fresh) if (this.overlay.has(id)) shadowed.set(id, r);
    if (shadowed.size > 0) {
      for (const id of shadowed.keys()) fresh.delete(id);
      return this.with(shadowed).withNew(fresh);
    }
    const size = this.size + fresh.size;
    if (this.layers.length >= 24) return this.folded(fresh, size);
    return new RowIndex([...this.layers, fresh], this.overlay, size);
  }
}

export function isLocalId(id: string): boolean {
  return id.startsWith(LOCAL_PREFIX);
}

/** Does `row` belong in a table showing `query`? (limit/offset are ignored.) */
export function matchesQuery(row: Row, q: RowQuery): boolean {
  if (q.property_id !== undefined && row.property_id !== q.property_id) return false;
  if (q.kind !== undefined && row.kind !== q.kind) return false;
  if (q.status !== undefined && row.status !== q.status) return false;
  if (q.from !== undefined && row.occurred_on < q.from) return false;
  if (q.to !== undefined && row.occurred_on > q.to) return false;
  return true;
}

/** Display order (the cache's keyset order): negative when `a` comes first. */
export function compareRows(a: RowKey, b: RowKey): number {
  if (a.occurred_on !== b.occurred_on) return a.occurred_on < b.occurred_on ? 1 : -1;
  if (a.id !== b.id) return a.id < b.id ? 1 : -1;
  return 0;
}

/** Is `row` inside `b`? */
export function inBounds(row: RowKey, b: Bounds): boolean {
  return (b.from === null || compareRows(b.from, row) <= 0) && (b.to === null || compareRows(row, b.to) <= 0);
}

/** Does `store` keep `row` (its query and its bounds)? */
export function holds(store: RowStore, row: Row): boolean {
  return matchesQuery(row, store.query) && inBounds(row, store.bounds);
}

export function keyOf(row: Row): RowKey {
  return { occurred_on: row.occurred_on, id: row.id };
}

export function emptyStore(query: RowQuery, seq = 0): RowStore {
  return { query, bounds: WHOLE_LIST, seq, byId: RowIndex.of([]), sorted: [] };
}

/**
 * A store from a `list_rows` read (rows not matching the query are
 * dropped), holding the run `bounds` (the whole list unless told).
 */
export function fromSnapshot(query: RowQuery, rows: readonly Row[], seq: number, bounds: Bounds = WHOLE_LIST): RowStore {
  const byId = new Map<string, Row>();
  for (const r of rows) if (matchesQuery(r, query) && inBounds(r, bounds)) byId.set(r.id, r);
  // Never two rows for one mutation, even if a snapshot raced a confirmation.
  for (const r of [...byId.values()]) {
    if (!isLocalId(r.id) && r.client_mutation_id) byId.delete(LOCAL_PREFIX + r.client_mutation_id);
  }
  const sorted = [...byId.values()];
  // list_rows already answers in display order; sort only if it did not.
  if (!isSorted(sorted)) sorted.sort(compareRows);
  return { query, bounds, seq, byId: RowIndex.fromMap(byId), sorted };
}

function isSorted(rows: readonly Row[]): boolean {
  for (let i = 1; i < rows.length; i++) if (compareRows(rows[i - 1]!, rows[i]!) > 0) return false;
  return true;
}

/** Apply one batch. Returns the same store when the batch changes nothing. */
export function applyBatch(store: RowStore, batch: PatchBatch): RowStore {
  if (batch.seq < store.seq) return store;
  return applyPatches(store, batch.patches, batch.seq);
}

export function applyPatches(store: RowStore, patches: readonly Patch[], seq = store.seq): RowStore {
  // Net effect per id: a row to put in place, or null to take away.
  const changes = new Map<string, Row | null>();
  const current = (id: string): Row | undefined => {
    const c = changes.get(id);
    return c === undefined ? store.byId.get(id) : c ?? undefined;
  };
  for (const p of patches) {
    if (p.op === "remove") {
      if (current(p.id) !== undefined || store.byId.has(p.id)) changes.set(p.id, null);
      continue;
    }
    const row = p.row;
    const cmid = row.client_mutation_id;
    if (cmid) {
      if (isLocalId(row.id)) {
        // The optimistic row arriving after its confirmation: drop it.
        if (hasConfirmed(store.byId, changes, cmid)) continue;
      } else {
        const localId = LOCAL_PREFIX + cmid;
        if (current(localId) !== undefined) changes.set(localId, null);
      }
    }
    if (holds(store, row)) changes.set(row.id, row);
    else if (current(row.id) !== undefined) changes.set(row.id, null);
  }

  // Drop no-op changes (removing what isn't there, putting back the same object).
  for (const [id, r] of changes) {
    const before = store.byId.get(id);
    if (r === null ? before === undefined : before === r) changes.delete(id);
  }
  if (changes.size === 0) return seq === store.seq ? store : { ...store, seq };

  return { ...store, seq, byId: store.byId.with(changes), sorted: resort(store, changes) };
}

/** Is a confirmed (non-local) row for this mutation in the store after `changes`? */
function hasConfirmed(
  byId: RowIndex,
  changes: ReadonlyMap<string, Row | null>,
  cmid: string,
): boolean {
  for (const [id, r] of changes) {
    if (r !== null && !isLocalId(id) && r.client_mutation_id === cmid) return true;
  }
  return byId.some((r) => r.client_mutation_id === cmid && !isLocalId(r.id) && changes.get(r.id) !== null);
}

function resort(store: RowStore, changes: ReadonlyMap<string, Row | null>): Row[] {
  if (changes.size > 64) {
    const kept = store.sorted.filter((r) => !changes.has(r.id));
    for (const r of changes.values()) if (r !== null) kept.push(r);
    return kept.sort(compareRows);
  }
  // Few changes: copy (cheap, pointers only) and splice by binary search.
  const out = store.sorted.slice();
  for (const id of changes.keys()) {
    const old = store.byId.get(id);
    if (old === undefined) continue;
    const i = insertionIndex(out, old) - 1;
    if (out[i] === old) out.splice(i, 1);
    else out.splice(out.findIndex((r) => r.id === id), 1); // defensive: never a stale duplicate
  }
  for (const r of changes.values()) if (r !== null) out.splice(insertionIndex(out, r), 0, r);
  return out;
}

function insertionIndex(arr: readonly Row[], row: Row): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareRows(arr[mid]!, row) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The rows of a page read on after the store's last key join it in order,
 * and its bounds reach to `to` (the page's `next`; null: the list's end).
 * The page is the cache's word as of its read: rows it holds replace the
 * store's (the caller then applies again what batches said since).
 */
export function mergePage(store: RowStore, rows: readonly Row[], to: RowKey | null): RowStore {
  const wider: RowStore = { ...store, bounds: { from: store.bounds.from, to } };
  const fresh = new Map<string, Row>();
  const changes = new Map<string, Row | null>();
  const incoming: Row[] = [];
  for (const r of rows) {
    if (!holds(wider, r)) continue;
    if (r.client_mutation_id) {
      if (isLocalId(r.id)) {
        if (hasConfirmed(store.byId, changes, r.client_mutation_id)) continue;
      } else {
        const localId = LOCAL_PREFIX + r.client_mutation_id;
        if (store.byId.has(localId)) changes.set(localId, null);
      }
    }
    if (store.byId.has(r.id)) changes.set(r.id, r);
    else fresh.set(r.id, r);
    incoming.push(r);
  }
  if (changes.size === 0 && fresh.size === 0) return wider;
  const kept = changes.size === 0 ? store.sorted : store.sorted.filter((r) => !changes.has(r.id));
  if (!isSorted(incoming)) incoming.sort(compareRows);
  return {
    ...wider,
    byId: store.byId.with(changes).withNew(fresh),
    sorted: mergeSorted(kept, incoming),
  };
}

/** Two arrays in display order as one, in one pass. */
function mergeSorted(a: readonly Row[], b: readonly Row[]): Row[] {
  const out: Row[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = compareRows(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}
