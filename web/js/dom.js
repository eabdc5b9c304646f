// Building DOM nodes from scripts without innerHTML (text is always set as text, never parsed).

/** Create <tag> with attributes (a `hidden: ''` attribute hides it) and children (nodes or text). */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

/** The element with data-testid=id under root (document by default). */
export function byTestId(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}
