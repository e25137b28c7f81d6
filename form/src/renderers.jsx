// Custom renderers for what the dashboard shows differently from plain
// JSONForms (issue 11): secrets, discriminated oneOf tabs, nullable anyOf,
// collapsible groups and OAuth sign-in. Our own code.
import React, { useEffect } from 'react';
import {
  and,
  isControl,
  optionIs,
  rankWith,
  schemaMatches,
  uiTypeIs,
} from '@jsonforms/core';
import {
  JsonFormsDispatch,
  withJsonFormsControlProps,
  withJsonFormsLayoutProps,
} from '@jsonforms/react';
import Accordion from '@mui/material/Accordion';
import AccordionDetails from '@mui/material/AccordionDetails';
import AccordionSummary from '@mui/material/AccordionSummary';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Tab from '@mui/material/Tab';
import Tabs from '@mui/material/Tabs';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { ExpandMore } from './icons.jsx';
import { elementsFor, nullableInner } from './uischema.js';

const isSecret = (s) => !!s && (s.secret === true || s.airbyte_secret === true);

// --- secrets: a password input; with `multiline`, plus a file upload -------

// The description stays while a message is shown (an empty required key
// must still say where to find it); neither: no helper line at all.
function helperText(description, errors) {
  if (description && errors) {
    return (
      <>
        <Box component="span" sx={{ display: 'block', color: 'text.secondary' }}>
          {description}
        </Box>
        {errors}
      </>
    );
  }
  return errors || description || undefined;
}

function SecretControl({ data, path, label, description, errors, required, enabled, schema, handleChange, id }) {
  const onFile = (event) => {
    const file = event.target.files && event.target.files[0];
    if (file) file.text().then((text) => handleChange(path, text));
  };
  return (
    <Box sx={{ display: 'flex', alignItems: 'flex-start', gap: 1, my: 1 }}>
      <TextField
        id={`${id}-input`}
        type="password"
        label={label}
        required={required}
        disabled={!enabled}
        fullWidth
        variant="outlined"
        value={data ?? ''}
        error={!!errors}
        helperText={helperText(description, errors)}
        onChange={(e) => handleChange(path, e.target.value === '' ? undefined : e.target.value)}
        slotProps={{ htmlInput: { 'data-secret': 'true', autoComplete: 'off' } }}
      />
      {schema.multiline ? (
        <Button component="label" variant="outlined" size="small" sx={{ mt: 2, whiteSpace: 'nowrap' }}>
          Upload file
          <input type="file" hidden data-upload-for={path} onChange={onFile} />
        </Button>
      ) : null}
    </Box>
  );
}

export const secretEntry = {
  tester: rankWith(10, and(isControl, schemaMatches((s) => isSecret(s) && (s.type === 'string' || s.type === undefined)))),
  renderer: withJsonFormsControlProps(SecretControl),
};

// --- [T, null] anyOf: one nullable input of type T -------------------------

function NullableControl({ schema, path, renderers, cells, label }) {
  const inner = nullableInner(schema);
  const merged = { ...inner, title: schema.title ?? inner.title, description: schema.description ?? inner.description };
  if (schema.default !== undefined) merged.default = schema.default;
  return (
    <JsonFormsDispatch
      schema={merged}
      uischema={{ type: 'Control', scope: '#', label }}
      path={path}
      renderers={renderers}
      cells={cells}
    />
  );
}

export const nullableEntry = {
  tester: rankWith(10, and(isControl, schemaMatches((s) => !!nullableInner(s)))),
  renderer: withJsonFormsControlProps(NullableControl),
};

// --- OAuth: a sign-in button in place of the OAuth fields ------------------

function SignIn({ provider }) {
  return (
    <Box sx={{ my: 1 }} data-oauth-provider={provider}>
      <Button variant="contained" disabled>
        Sign in with {provider}
      </Button>
      <Typography variant="caption" display="block" sx={{ mt: 0.5 }}>
        OAuth sign-in happens in Estuary's dashboard; it does not work in this offline preview.
      </Typography>
    </Box>
  );
}

export const oauthEntry = {
  tester: rankWith(20, and(isControl, schemaMatches((s) => !!s['x-oauth2-provider'] && !Array.isArray(s.oneOf)))),
  renderer: withJsonFormsControlProps(({ schema }) => <SignIn provider={schema['x-oauth2-provider']} />),
};

// --- oneOf with discriminator.propertyName: tabs, discriminator hidden -----

const tagOf = (option, prop) => {
  const p = (option.properties || {})[prop] || {};
  if (p.const !== undefined) return p.const;
  if (p.default !== undefined) return p.default;
  if (Array.isArray(p.enum) && p.enum.length === 1) return p.enum[0];
  return undefined;
};

function defaultsOf(option) {
  const out = {};
  for (const [key, s] of Object.entries(option.properties || {})) {
    if (s && s.default !== undefined) out[key] = s.default;
  }
  return out;
}

/**
 * Sets every discriminated oneOf of `schema` that `data` reaches (through
 * required objects) to its first option, as the form shows it: done on the
 * initial data, since JSONForms resets its data once after the first render.
 */
export function prefillDiscriminators(schema, data) {
  const required = new Set(schema.required || []);
  for (const [key, s] of Object.entries(schema.properties || {})) {
    if (!s || typeof s !== 'object') continue;
    const prop = s.discriminator && s.discriminator.propertyName;
    if (Array.isArray(s.oneOf) && prop && data[key] === undefined) {
      const next = defaultsOf(s.oneOf[0]);
      const tag = tagOf(s.oneOf[0], prop);
      if (tag !== undefined) next[prop] = tag;
      data[key] = next;
    } else if (s.properties && required.has(key)) {
      data[key] = data[key] || {};
      prefillDiscriminators(s, data[key]);
      if (Object.keys(data[key]).length === 0) delete data[key];
    }
  }
  return data;
}

function DiscriminatedOneOf({ schema, data, path, handleChange, renderers, cells, label }) {
  const prop = schema.discriminator.propertyName;
  const options = schema.oneOf;
  const found = options.findIndex((o) => data && tagOf(o, prop) !== undefined && tagOf(o, prop) === data[prop]);
  const selected = found < 0 ? 0 : found;
  const choose = (index) => {
    const option = options[index];
    const next = defaultsOf(option);
    const tag = tagOf(option, prop);
    if (tag !== undefined) next[prop] = tag;
    handleChange(path, next);
  };
  // Also on a new `data`: JSONForms' first onChange can hand back the data
  // from before this effect ran.
  useEffect(() => {
    if (found < 0) choose(0);
  }, [found, data]);
  const option = options[selected];
  // The option's own `x-oauth2-provider` (as the dashboard reads it: an
  // object carrying it is a sign-in button), else the oneOf's, on the
  // option named like OAuth.
  const outer = schema['x-oauth2-provider'];
  const oauth =
    option['x-oauth2-provider'] ||
    (outer && /oauth/i.test(`${option.title || ''} ${tagOf(option, prop) || ''}`) ? outer : undefined);
  return (
    <Box sx={{ my: 1 }} data-discriminator={prop}>
      {label ? <Typography variant="subtitle2">{label}</Typography> : null}
      <Tabs value={selected} onChange={(_, i) => choose(i)} variant="scrollable">
        {options.map((o, i) => (
          <Tab key={i} label={o.title || String(tagOf(o, prop) ?? `Option ${i + 1}`)} />
        ))}
      </Tabs>
      {oauth ? (
        <SignIn provider={oauth} />
      ) : (
        <JsonFormsDispatch
          schema={option}
          uischema={{ type: 'VerticalLayout', elements: elementsFor(option, '#', prop) }}
          path={path}
          renderers={renderers}
          cells={cells}
        />
      )}
    </Box>
  );
}

export const discriminatorEntry = {
  tester: rankWith(
    10,
    and(isControl, schemaMatches((s) => Array.isArray(s.oneOf) && !!(s.discriminator && s.discriminator.propertyName))),
  ),
  renderer: withJsonFormsControlProps(DiscriminatedOneOf),
};

// --- collapsible groups ----------------------------------------------------

function CollapsibleGroup({ uischema, schema, path, renderers, cells, visible, enabled }) {
  if (!visible) return null;
  const { label, elements, options } = uischema;
  return (
    <Accordion defaultExpanded={!!options.expanded} disableGutters sx={{ my: 1 }} data-group={label}>
      <AccordionSummary expandIcon={<ExpandMore />}>
        <Typography>{label}</Typography>
      </AccordionSummary>
      <AccordionDetails>
        {elements.map((child, i) => (
          <JsonFormsDispatch
            key={i}
            uischema={child}
            schema={schema}
            path={path}
            enabled={enabled}
            renderers={renderers}
            cells={cells}
          />
        ))}
      </AccordionDetails>
    </Accordion>
  );
}

export const groupEntry = {
  tester: rankWith(10, and(uiTypeIs('Group'), optionIs('collapsible', true))),
  renderer: withJsonFormsLayoutProps(CollapsibleGroup),
};

export function Note({ children }) {
  return <Alert severity="info" sx={{ my: 1 }}>{children}</Alert>;
}

export const customRenderers = [secretEntry, nullableEntry, oauthEntry, discriminatorEntry, groupEntry];
