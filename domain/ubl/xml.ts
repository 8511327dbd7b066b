/**
 * A small namespace-aware element tree over saxes, a strict streaming XML parser. Hostile input
 * is refused while parsing: no DOCTYPE (so no entity expansion and no external entities), and
 * limits on size, depth and element count keep a huge or deeply nested document from costing
 * more than a bounded amount of work.
 */
import { SaxesParser, type SaxesTagNS } from 'saxes';

export interface XmlElement {
  /** Namespace URI, '' when none. */
  ns: string;
  /** Local name, without prefix. */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
  /** 1-based line of the start tag, for messages. */
  line: number;
}

export type XmlErrorKind = 'malformed' | 'forbidden' | 'too_large';

export class XmlError extends Error {
  override name = 'XmlError';
  constructor(
    readonly kind: XmlErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 10 * 1024 * 1024, maxDepth: 48, maxElements: 400_000 };

/** Parses a whole document into a tree, or throws an {@link XmlError}. */
export function parseXml(input: Buffer | string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > limits.maxBytes) throw new XmlError('too_large', `the document is ${size} bytes; at most ${limits.maxBytes} are accepted`);
  const text = typeof input === 'string' ? input : decode(input);

  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let failure: XmlError | undefined;
  const fail = (error: XmlError) => {
    failure ??= error;
    throw error;
  };

  parser.on('doctype', () => fail(new XmlError('forbidden', 'DOCTYPE declarations (and with them entities) are not accepted')));
  parser.on('opentag', (tag: SaxesTagNS) => {
    elements += 1;
    if (elements > limits.maxElements) fail(new XmlError('too_large', `the document has more than ${limits.maxElements} elements`));
    if (stack.length >= limits.maxDepth) fail(new XmlError('too_large', `elements are nested deeper than ${limits.maxDepth} levels`));
    const attrs: Record<string, string> = {};
    for (const attr of Object.values(tag.attributes)) {
      if (attr.prefix !== 'xmlns' && attr.name !== 'xmlns') attrs[attr.local] = attr.value;
    }
    const element: XmlElement = { ns: tag.uri, name: tag.local, attrs, children: [], text: '', line: parser.line };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else root = element;
    stack.push(element);
  });
  parser.on('text', (t) => {
    const current = stack[stack.length - 1];
    if (current) current.text += t;
  });
  parser.on('cdata', (t) => {
    const current = stack[stack.length - 1];
    if (current) current.text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  parser.on('error', (err) => fail(new XmlError('malformed', err.message)));

  try {
    parser.write(text).close();
  } catch (err) {
    if (failure) throw failure;
    throw new XmlError('malformed', (err as Error).message);
  }
  if (failure) throw failure;
  if (!root) throw new XmlError('malformed', 'the document has no root element');
  return root;
}

/** UTF-8 (with or without BOM) is what UBL uses; refuse bytes that are not valid UTF-8. */
function decode(bytes: Buffer): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    throw new XmlError('malformed', 'the document is not UTF-8 text');
  }
}

// ---- navigation helpers ----

/** First child with the local name (and namespace, when given). */
export function child(el: XmlElement | undefined, name: string, ns?: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name && (ns === undefined || c.ns === ns));
}

export function children(el: XmlElement | undefined, name: string, ns?: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name && (ns === undefined || c.ns === ns)) : [];
}

/** Follows a path of local names, e.g. `path(root, 'AccountingSupplierParty', 'Party')`. */
export function path(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let current = el;
  for (const name of names) current = child(current, name);
  return current;
}

/** Trimmed text of the element at the path, or undefined when absent or empty. */
export function text(el: XmlElement | undefined, ...names: string[]): string | undefined {
  const value = path(el, ...names)?.text.trim();
  return value ? value : undefined;
}
