// Stylesheets: the widget bundle emits them as widget.css; the JupyterLab extension inlines them as text.
declare module "*.css" {
  const text: string;
  export default text;
}
