"""The notebook faces: ChatWidget, CompareWidget, their panes and the anywidget plumbing."""
