/**
 * The classes KaTeX's stylesheet styles (every class selector in katex/dist/katex.css) plus katex-error, the
 * class of a formula KaTeX could not parse. The sanitizer keeps these on spans so rendered math looks right;
 * any other class a formula might carry has no effect and is dropped like any class a reply invents.
 * test/math.test.ts fails when a KaTeX upgrade changes the stylesheet's classes: regenerate this list then.
 */
export const KATEX_CLASSES: ReadonlySet<string> = new Set([
  "accent-body", "accent-full", "amsrm", "angl", "anglpad", "arraycolsep", "boldsymbol", "boxpad", "brace-center",
  "brace-left", "brace-right", "cancel-lap", "cancel-pad", "cd-arrow-pad", "cd-label-left", "cd-label-right",
  "cd-vert-arrow", "clap", "col-align-c", "col-align-l", "col-align-r", "delim-size1", "delim-size4", "delimcenter",
  "delimsizing", "eqn-num", "fbox", "fcolorbox", "fleqn", "fontsize-ensurer", "frac-line", "halfarrow-left",
  "halfarrow-right", "hide-tail", "katex", "katex-accent", "katex-base", "katex-display", "katex-error", "katex-fix",
  "katex-hdashline", "katex-hline", "katex-html", "katex-inner", "katex-mathml", "katex-newline", "katex-overlay",
  "katex-overline", "katex-root", "katex-rule", "katex-sizing", "katex-smash", "katex-sout", "katex-stretchy",
  "katex-strut", "katex-tag", "katex-thinbox", "katex-underline", "katex-vbox", "katex-version", "large-op", "leqno",
  "llap", "mainrm", "mathbb", "mathbf", "mathboldfrak", "mathboldsf", "mathcal", "mathfrak", "mathit", "mathitsf",
  "mathnormal", "mathrm", "mathscr", "mathsf", "mathsfit", "mathtt", "mfrac", "mml-eqn-num", "mover", "mspace",
  "msupsub", "mtable", "mtr-glue", "mult", "munder", "nulldelimiter", "op-limits", "op-symbol", "overline-line",
  "pstrut", "reflectbox", "reset-size1", "reset-size10", "reset-size11", "reset-size2", "reset-size3", "reset-size4",
  "reset-size5", "reset-size6", "reset-size7", "reset-size8", "reset-size9", "rlap", "size1", "size10", "size11",
  "size2", "size3", "size4", "size5", "size6", "size7", "size8", "size9", "small-op", "sqrt", "svg-align", "textbb",
  "textbf", "textboldfrak", "textboldsf", "textfrak", "textit", "textitsf", "textrm", "textscr", "textsf", "texttt",
  "underline-line", "vertical-separator", "vlist", "vlist-r", "vlist-s", "vlist-t", "vlist-t2", "x-arrow",
  "x-arrow-pad",
]);
