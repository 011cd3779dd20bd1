import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { JsonValue } from '../../core/events';
import { MalformedPayloadError } from '../types';

const attribute = '@';
const text = '#text';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: attribute,
  textNodeName: text,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  htmlEntities: false,
});

export interface RecurlyXmlDocument {
  /** The root element's name, which names the event: `failed_payment_notification`, … */
  root: string;
  body: { [key: string]: JsonValue };
}

/**
 * Recurly's v2 XML as plain JSON: `nil="true"` is null, `type="integer"` a number,
 * `type="boolean"` a boolean, `type="array"` an array of its children; other attributes are kept
 * beside the text as `@name`. Throws a 400 for anything that is not one well-formed element.
 */
export function parseRecurlyXml(raw: Buffer): RecurlyXmlDocument {
  const xml = raw.toString('utf8');
  // Recurly never sends a DTD; refusing one rules out entity expansion and external entities.
  if (/<!(?:DOCTYPE|ENTITY)/i.test(xml)) throw new MalformedPayloadError('XML with a DOCTYPE is not accepted');
  if (XMLValidator.validate(xml) !== true) throw new MalformedPayloadError('body is not well-formed XML');
  let document: Record<string, unknown>;
  try {
    document = parser.parse(xml) as Record<string, unknown>;
  } catch {
    throw new MalformedPayloadError('body is not well-formed XML');
  }
  const roots = Object.keys(document);
  const [root] = roots;
  if (roots.length !== 1 || root === undefined || root.startsWith(attribute) || root === text) {
    throw new MalformedPayloadError('XML body must have exactly one root element');
  }
  const body = convert(document[root]);
  return { root, body: body !== null && typeof body === 'object' && !Array.isArray(body) ? body : {} };
}

function convert(node: unknown): JsonValue {
  if (node === null || node === undefined) return null;
  if (typeof node !== 'object') return String(node);
  if (Array.isArray(node)) return node.map(convert);
  const element = node as Record<string, unknown>;
  const type = element[`${attribute}type`];
  if (element[`${attribute}nil`] === 'true') return null;
  const children = Object.entries(element).filter(([key]) => !key.startsWith(attribute) && key !== text);
  if (type === 'array') return children.flatMap(([, value]) => (Array.isArray(value) ? value.map(convert) : [convert(value)]));
  if (children.length > 0) return Object.fromEntries(children.map(([key, value]) => [key, convert(value)]));

  const content = typeof element[text] === 'string' || typeof element[text] === 'number' ? String(element[text]) : '';
  if (type === 'integer' && /^-?\d+$/.test(content)) return Number(content);
  if (type === 'boolean' && (content === 'true' || content === 'false')) return content === 'true';
  const others = Object.entries(element).filter(([key]) => key.startsWith(attribute) && key !== `${attribute}type`);
  if (others.length === 0) return content;
  return Object.fromEntries([...others.map(([key, value]) => [key, String(value)] as const), [text, content] as const]);
}
