/**
 * Keep a conversation's end in view: while the user is at the end (within a few pixels), new content scrolls into
 * view; once they scroll up to read, the view stays where they left it and a "Jump to latest" button brings them
 * back. Layout often happens after rendering (the output is attached later, a cell comes back into the notebook's
 * window, full screen resizes), so the scroll is re-applied whenever the content or the box changes size.
 */
import { button, h } from "./dom";

const THRESHOLD_PX = 24;

export class FollowBottom {
  /** The scroller and its Jump button, in a positioned box: put this where the scroller goes. */
  readonly el: HTMLElement;
  readonly jump: HTMLButtonElement;
  /** True while the view follows new content. */
  stick = true;
  private lastTop = 0;
  private ownTop = -1; // where our own last scroll left the view
  private frame = 0;
  private observers: { disconnect(): void }[] = [];

  constructor(private scroller: HTMLElement) {
    this.jump = button("Jump to latest", "↓ Jump to latest", "kaito-jump");
    this.jump.hidden = true;
    this.jump.addEventListener("click", () => this.toEnd());
    this.el = h("div", { class: "kaito-scroll" }, scroller, this.jump);
    scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    // The user's own intent to read back wins over content arriving in the same frame.
    scroller.addEventListener("wheel", (e) => { if (e.deltaY < 0) this.leave(); }, { passive: true });
    scroller.addEventListener("keydown", (e) => {
      if (["PageUp", "ArrowUp", "Home"].includes(e.key)) this.leave();
    });
    if (typeof ResizeObserver !== "undefined") {
      const resize = new ResizeObserver(() => this.update());
      resize.observe(scroller);
      this.observers.push(resize);
    }
    if (typeof MutationObserver !== "undefined") {
      const mutation = new MutationObserver(() => this.later());
      mutation.observe(scroller, { childList: true, subtree: true, characterData: true });
      this.observers.push(mutation);
    }
  }

  /** Content changed: follow it now, and again once the browser has laid it out. */
  update(): void {
    if (!this.laidOut()) return;
    if (this.stick) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      this.ownTop = this.scroller.scrollTop;
    } else if (this.scroller.scrollTop === 0 && this.lastTop > 0) {
      this.scroller.scrollTop = this.lastTop; // detached and attached again (windowing, full screen): back to where it was
    }
    this.showJump();
  }

  /** Bring the view to the end and follow from now on (the user sent a message, or pressed Jump). */
  toEnd(): void {
    this.stick = true;
    this.update();
    this.later();
  }

  /** Remember where the user is (``stick``) across a redraw of the view. */
  restore(stick: boolean, top: number): void {
    this.stick = stick;
    this.lastTop = stick ? 0 : top;
    this.update();
    this.later();
  }

  get scrollTop(): number {
    return this.laidOut() ? this.scroller.scrollTop : this.lastTop;
  }

  dispose(): void {
    for (const o of this.observers.splice(0)) o.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  private later(): void {
    if (this.frame || typeof requestAnimationFrame === "undefined") return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.update();
    });
  }

  private laidOut(): boolean {
    return this.scroller.isConnected && this.scroller.clientHeight > 0;
  }

  private gap(): number {
    return this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight;
  }

  private onScroll(): void {
    if (!this.laidOut()) return; // detached: the browser reset scrollTop, the user did not scroll
    const atEnd = this.gap() <= THRESHOLD_PX;
    // The event of our own scroll may arrive after more content did: that is no reason to stop following.
    if (atEnd || this.scroller.scrollTop !== this.ownTop) this.stick = atEnd;
    this.lastTop = this.scroller.scrollTop;
    this.showJump();
  }

  private leave(): void {
    if (this.scroller.scrollHeight > this.scroller.clientHeight) this.stick = false;
  }

  private showJump(): void {
    this.jump.hidden = this.stick || this.gap() <= THRESHOLD_PX;
  }
}
