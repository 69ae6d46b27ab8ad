// Stylesheets: the widget bundle emits them as widget.css; the JupyterLab extension inlines them as text.
declare module "*.css" {
  const text: string;
  export default text;
}
// A stylesheet's source text (tests read KaTeX's to check the sanitizer knows its classes).
declare module "*.css?raw" {
  const text: string;
  export default text;
}
