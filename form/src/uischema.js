// UI schema for a connector's config schema, laid out the way Estuary's
// dashboard shows endpoint config (behaviour from issue 11; our own code):
// - fields sorted by ascending `order`, fields without `order` after the rest
//   (in schema order); `x-hidden-field` fields are not shown;
// - at the top level, each object (and each titled oneOf/anyOf) is a
//   collapsible group, collapsed unless the root schema requires it;
//   `advanced: true` groups start collapsed; an expanded (required) group
//   keeps its `order` position among the plain fields, the collapsed ones
//   follow every plain field (the dashboard puts every group after the plain
//   fields; a required Authentication group at `order` 0 is then easy to
//   miss, issue 20);
// - `multiline: true` strings are text areas.

/** Properties of an object schema in display order, hidden ones left out. */
export function orderedKeys(schema) {
  const props = (schema && schema.properties) || {};
  return Object.keys(props)
    .map((key, index) => {
      const order = props[key] && props[key].order;
      return { key, index, order: typeof order === 'number' ? order : Infinity };
    })
    .filter(({ key }) => !(props[key] && props[key]['x-hidden-field']))
    .sort((a, b) => (a.order === b.order ? a.index - b.index : a.order < b.order ? -1 : 1))
    .map(({ key }) => key);
}

/** The `T` of `anyOf: [T, {type: null}]` or `type: [T, null]` (either order), else null. */
export function nullableInner(schema) {
  const t = schema && schema.type;
  if (Array.isArray(t) && t.length === 2 && t.includes('null')) {
    return { ...schema, type: t.find((x) => x !== 'null') };
  }
  const options = schema && schema.anyOf;
  if (!Array.isArray(options) || options.length !== 2) return null;
  const nonNull = options.filter((o) => !(o && o.type === 'null'));
  return nonNull.length === 1 ? nonNull[0] : null;
}

const isPlainObject = (s) =>
  !!s && !!s.properties && (s.type === 'object' || s.type === undefined) && !s.oneOf && !s.anyOf;

/** A oneOf whose options are all `const` (with a title): a select, not a group. */
export const isConstSelect = (s) =>
  !!s && Array.isArray(s.oneOf) && s.oneOf.every((o) => o && o.const !== undefined);

const isCombinator = (s) =>
  !!s && ((Array.isArray(s.oneOf) && !isConstSelect(s)) || (Array.isArray(s.anyOf) && !nullableInner(s)));

/** Whether a top-level property is shown as a collapsible group. */
export function isGroup(s) {
  return isPlainObject(s) || (isCombinator(s) && !!s.title);
}

const escape = (key) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function control(scope, s) {
  const el = { type: 'Control', scope };
  if (s && s.multiline) el.options = { multi: true };
  return el;
}

function group(label, elements, expanded) {
  return { type: 'Group', label, elements, options: { collapsible: true, expanded } };
}

/** Elements for the properties of an object schema, below `base` ('#' or a scope). */
export function elementsFor(schema, base, skip) {
  return orderedKeys(schema)
    .filter((key) => key !== skip)
    .map((key) => {
      const s = schema.properties[key];
      const scope = `${base}/properties/${escape(key)}`;
      if (isPlainObject(s) && !s['x-oauth2-provider']) {
        return group(s.title || key, elementsFor(s, scope), !s.advanced);
      }
      return control(scope, s);
    });
}

/** The UI schema of a whole config schema. */
export function generateUiSchema(schema) {
  const required = new Set((schema && schema.required) || []);
  const plain = [];
  const groups = [];
  for (const key of orderedKeys(schema)) {
    const s = schema.properties[key];
    const scope = `#/properties/${escape(key)}`;
    if (!isGroup(s)) {
      plain.push(control(scope, s));
      continue;
    }
    const expanded = required.has(key) && !s.advanced;
    const inner =
      isPlainObject(s) && !s['x-oauth2-provider'] ? elementsFor(s, scope) : [control(scope, s)];
    (expanded ? plain : groups).push(group(s.title || key, inner, expanded));
  }
  return { type: 'VerticalLayout', elements: [...plain, ...groups] };
}
