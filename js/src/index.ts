/** The anywidget entry point: one view per displayed output of a ChatWidget (chat) or CompareWidget (compare). */
// KaTeX's stylesheet comes with KaTeX, on first use (katexLoad.ts), or first in standalone.ts's stylesheet.
import "./styles.css";

import { CompareView } from "./compare";
import type { CompareState, WidgetModel } from "./protocol";
import { SweepView } from "./sweep";
import { ChatView } from "./view";

// The saved-transcript view the lab extension shows where a chat's widget is gone: it loads this module on first use.
export { savedTranscriptView } from "./lab/saved";

export default {
  render({ model, el }: { model: WidgetModel & WidgetModel<CompareState>; el: HTMLElement }) {
    const kind = model.get("kind") as string;
    const view = kind === "sweep" ? new SweepView(model as any, el)
      : kind === "compare" ? new CompareView(model, el) : new ChatView(model, el);
    return () => view.dispose();
  },
};
