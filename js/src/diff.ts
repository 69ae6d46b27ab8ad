/**
 * Where compared replies diverge: the words of a reply that are not in the reference reply (word diff by jsdiff),
 * marked in the rendered reply without re-rendering it. Only text nodes are split; the sanitized markup stays as it is.
 */
import { diffWords } from "diff";

const MARK_CLASS = "kaito-diff";
// Words as Unicode defines them (UAX #29): "0.2" and "don't" stay whole, and Chinese or Japanese text is split
// into words too, where splitting on spaces and punctuation would not.
const segmenter = typeof Intl !== "undefined" && "Segmenter" in Intl
  ? new Intl.Segmenter(undefined, { granularity: "word" })
  : undefined;

/** Character ranges of ``text`` holding words that ``reference`` does not have at that place. */
export function changedRanges(reference: string, text: string): [number, number][] {
  const ranges: [number, number][] = [];
  let offset = 0;
  for (const part of diffWords(reference, text, segmenter ? { intlSegmenter: segmenter } : {})) {
    if (part.removed) continue;
    if (part.added && part.value.trim()) ranges.push([offset, offset + part.value.length]);
    offset += part.value.length;
  }
  return ranges;
}

/** Wrap the characters of ``el``'s text that fall in ``ranges`` in ``<mark class="kaito-diff">``. */
export function markRanges(el: HTMLElement, ranges: [number, number][]): void {
  if (!ranges.length) return;
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n as Text);
  let offset = 0;
  for (const node of nodes) {
    const start = offset;
    const end = start + node.data.length;
    offset = end;
    // The parts of this node inside a range, from the last so earlier offsets stay valid while splitting.
    const cuts = ranges
      .map(([a, b]) => [Math.max(a, start) - start, Math.min(b, end) - start] as const)
      .filter(([a, b]) => a < b && node.data.slice(a, b).trim() !== "") // not the bare line break between blocks
      .reverse();
    for (const [a, b] of cuts) {
      const tail = node.splitText(a);
      tail.splitText(b - a);
      const mark = document.createElement("mark");
      mark.className = MARK_CLASS;
      tail.replaceWith(mark);
      mark.append(tail);
    }
  }
}

/** Remove every mark ``markRanges`` added inside ``el``. */
export function clearMarks(el: HTMLElement): void {
  const marks = el.querySelectorAll(`mark.${MARK_CLASS}`);
  if (!marks.length) return;
  for (const mark of Array.from(marks)) mark.replaceWith(...Array.from(mark.childNodes));
  el.normalize();
}
