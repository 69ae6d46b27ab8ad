/**
 * Rendering a long transcript without freezing the page: work is split into small jobs run in slices of a few
 * milliseconds, with the browser free to paint and handle input between slices. One queue for the page, so ten
 * transcripts opening together share the slices instead of each taking its own.
 */

/** A unit of work; returns true while it has more to do. */
export type Job = () => boolean;

const SLICE_MS = 12;
const AT_ONCE = 8; // by default, this many items are always built at once
const queue: Job[] = [];
let pending = false;

function runSlice(): void {
  pending = false;
  const t0 = performance.now();
  while (queue.length && performance.now() - t0 < SLICE_MS) {
    const job = queue[0];
    let more = false;
    try {
      more = job();
    } catch (e) {
      console.error("kaito-widget: rendering failed", e);
    }
    if (!more && queue[0] === job) queue.shift();
  }
  if (queue.length) schedule();
}

function schedule(): void {
  if (pending) return;
  pending = true;
  setTimeout(runSlice, 0);
}

/** Queue ``job``; returns a function that cancels it. */
export function enqueue(job: Job): () => void {
  queue.push(job);
  schedule();
  return () => {
    const i = queue.indexOf(job);
    if (i >= 0) queue.splice(i, 1);
  };
}

/**
 * Build items ``0 … n-1`` newest first: the last ones at once (a few, then for ``syncMs`` at most), the older
 * ones in later slices. ``build(i)`` makes and places item ``i``, which always lands before the ones built so far.
 * ``done`` runs once every item is built. Returns a cancel function.
 */
export function buildNewestFirst(
  n: number,
  build: (i: number) => void,
  done: () => void = () => {},
  { atOnce = AT_ONCE, syncMs = SLICE_MS }: { atOnce?: number; syncMs?: number } = {},
): () => void {
  let next = n - 1;
  const t0 = performance.now();
  while (next >= 0 && (next >= n - atOnce || performance.now() - t0 < syncMs)) build(next--);
  if (next < 0) {
    done();
    return () => {};
  }
  return enqueue(() => {
    if (next >= 0) build(next--);
    if (next < 0) {
      done();
      return false;
    }
    return true;
  });
}
