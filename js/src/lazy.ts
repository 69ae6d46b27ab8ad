/**
 * Libraries a reply may need (KaTeX, highlight.js: two thirds of the frontend's code) load the first time a reply
 * needs one, not with the chat. A render that needed one still on its way renders without it (code unhighlighted,
 * math hidden) and asks to be rendered again: ``takeMissed()`` after the render, then ``onArrival(rerender)``.
 *
 * In the lab extension's build they are separate files next to the frontend (esbuild's code splitting); in the
 * single module the kernel sends (js/src/loader.ts) they are inside it and arrive a microtask later, before the
 * page paints.
 */

export interface Lazy<T> {
  /** The library, or null: not here yet (its load starts now, and the render in progress is marked as missing it),
   * or it failed to load (then ``failed`` is true and nothing waits for it). */
  get(): T | null;
  readonly failed: boolean;
  /** Resolves once the library is here (or failed to load). */
  ready(): Promise<void>;
}

let missed = false;
let waiting: (() => void)[] = [];

/** True if a library was missing since the last call: the caller should re-render on arrival. */
export function takeMissed(): boolean {
  const was = missed;
  missed = false;
  return was;
}

/** Run ``rerender`` when the next library arrives (once). */
export function onArrival(rerender: () => void): void {
  waiting.push(rerender);
}

function arrived(): void {
  const due = waiting;
  waiting = [];
  for (const rerender of due) rerender(); // one that still misses another library waits again
}

export function lazy<T>(load: () => Promise<T>): Lazy<T> {
  let value: T | null = null;
  let failed = false;
  let loading: Promise<void> | null = null;
  const start = (): Promise<void> =>
    (loading ??= load().then(
      (v) => { value = v; },
      (err) => { failed = true; console.error("kaito-widget: a renderer library did not load", err); },
    ).then(arrived));
  return {
    get() {
      if (value !== null || failed) return value;
      missed = true;
      void start();
      return null;
    },
    get failed() { return failed; },
    ready: start,
  };
}
