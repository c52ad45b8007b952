// This window's single patch stream: one `subscribe` per window, fanned out to
// every table that wants batches. Tables register before they call
// `list_rows`, so no batch between the snapshot and the first patch is lost.
//
// Each message names the seq of the one before it (`prev_seq`); when that is
// not the last seq this stream heard, a message was lost on the way, and
// every table re-reads its rows (`onGap`).

import { subscribe, unsubscribe } from "./ipc";
import type { PatchBatch } from "./types";

type Listener = (b: PatchBatch) => void;

const listeners = new Set<Listener>();
const gapListeners = new Set<() => void>();
let opened: Promise<number> | null = null;
let lastSeq = 0;
/** The seq the next message must name as `prev_seq`; null until known. */
let expected: number | null = null;

/** Feeds one message of the stream (exported for tests). */
export function dispatch(b: PatchBatch) {
  const gap = b.prev_seq !== undefined && expected !== null && b.prev_seq !== expected;
  expected = b.seq;
  lastSeq = Math.max(lastSeq, b.seq);
  for (const l of listeners) l(b);
  if (gap) for (const l of gapListeners) l();
}

/** Resolves once the stream is open (opening it on first use). */
export function ready(): Promise<number> {
  if (!opened) {
    expected = null;
    opened = subscribe(dispatch).then(
      (s) => {
        lastSeq = Math.max(lastSeq, s.seq);
        // Messages can overtake the answer; the first one then set it.
        if (expected === null) expected = s.seq;
        return s.subscription;
      },
      (e) => {
        opened = null; // let the next caller retry
        throw e;
      },
    );
  }
  return opened;
}

/** Listen to batches; returns the function that stops listening. */
export function onBatch(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Called when a message was missed: re-read what you show. */
export function onGap(l: () => void): () => void {
  gapListeners.add(l);
  return () => gapListeners.delete(l);
}

/** The highest seq this window has heard of (for the diagnostics panel). */
export function seenSeq(): number {
  return lastSeq;
}

/** Close the stream (on sign-out); the next `ready()` opens a new one. */
export async function close(): Promise<void> {
  const p = opened;
  opened = null;
  expected = null;
  if (!p) return;
  try {
    await unsubscribe(await p);
  } catch {
    // The shell drops subscriptions of a signed-out session itself.
  }
}
