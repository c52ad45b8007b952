// This window's single patch stream: one `subscribe` per window, fanned out to
// every table that wants batches. Tables register before they call
// `list_rows`, so no batch between the snapshot and the first patch is lost.

import { subscribe, unsubscribe } from "./ipc";
import type { PatchBatch } from "./types";

type Listener = (b: PatchBatch) => void;

const listeners = new Set<Listener>();
let opened: Promise<number> | null = null;
let lastSeq = 0;

function dispatch(b: PatchBatch) {
  lastSeq = Math.max(lastSeq, b.seq);
  for (const l of listeners) l(b);
}

/** Resolves once the stream is open (opening it on first use). */
export function ready(): Promise<number> {
  if (!opened) {
    opened = subscribe(dispatch).then(
      (s) => {
        lastSeq = Math.max(lastSeq, s.seq);
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

/** The highest seq this window has heard of (for the diagnostics panel). */
export function seenSeq(): number {
  return lastSeq;
}

/** Close the stream (on sign-out); the next `ready()` opens a new one. */
export async function close(): Promise<void> {
  const p = opened;
  opened = null;
  if (!p) return;
  try {
    await unsubscribe(await p);
  } catch {
    // The shell drops subscriptions of a signed-out session itself.
  }
}
