/** The anywidget entry point: one ChatView per displayed output of a ChatWidget. */
import "./styles.css";

import type { WidgetModel } from "./protocol";
import { ChatView } from "./view";

export default {
  render({ model, el }: { model: WidgetModel; el: HTMLElement }) {
    const view = new ChatView(model, el);
    return () => view.dispose();
  },
};
