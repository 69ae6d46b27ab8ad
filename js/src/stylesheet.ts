/** A stylesheet link in the page, added once per URL; resolves when it has loaded (or failed: what it styles is
 * shown anyway). Shared by the loader, the lab extension and KaTeX's on-demand load. */
export function addStylesheet(href: string): Promise<void> {
  const existing = document.querySelector<HTMLLinkElement>(`link[data-kaito-widget="${href}"]`);
  if (existing?.sheet) return Promise.resolve();
  const link = existing ?? document.createElement("link");
  const loaded = new Promise<void>((resolve) => {
    link.addEventListener("load", () => resolve(), { once: true });
    link.addEventListener("error", () => resolve(), { once: true });
  });
  if (!existing) {
    link.rel = "stylesheet";
    link.href = href;
    link.dataset.kaitoWidget = href;
    document.head.append(link);
  }
  return loaded;
}
