// The offline form preview: the connector's endpoint config schema and its
// resource config schema rendered with JSONForms + Material renderers, our
// UI schema generator and custom renderers, ajv with `useDefaults: 'empty'`
// (as Estuary's dashboard configures it), and the config JSON beside each form.
import React, { useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createAjv } from '@jsonforms/core';
import { JsonForms } from '@jsonforms/react';
import { materialCells, materialRenderers } from '@jsonforms/material-renderers';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Container from '@mui/material/Container';
import CssBaseline from '@mui/material/CssBaseline';
import Paper from '@mui/material/Paper';
import Typography from '@mui/material/Typography';
import { ThemeProvider, createTheme } from '@mui/material/styles';
import { customRenderers, Note, prefillDiscriminators } from './renderers.jsx';
import { generateUiSchema } from './uischema.js';

const renderers = [...materialRenderers, ...customRenderers];
const input = JSON.parse(document.getElementById('atf-data').textContent);

/** Whether a schema carries `x-oauth2-provider` anywhere (a property or an option). */
function carriesProvider(s) {
  if (!s || typeof s !== 'object') return false;
  if (Array.isArray(s)) return s.some(carriesProvider);
  if (s['x-oauth2-provider']) return true;
  return Object.values(s).some(carriesProvider);
}

/** The connector signs in with OAuth: its spec's `oauth2`, or a provider in its schema. */
function hasOAuth(data) {
  const o = data.oauth2;
  return (!!o && typeof o === 'object' && !!o.provider) || carriesProvider(data.configSchema);
}

function save(name, value) {
  const blob = new Blob([JSON.stringify(value, null, 2) + '\n'], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  URL.revokeObjectURL(a.href);
}

function Section({ id, title, schema, file, hint }) {
  const ajv = useMemo(() => createAjv({ useDefaults: 'empty' }), []);
  const uischema = useMemo(() => generateUiSchema(schema), [schema]);
  // JSONForms owns the data: it gets the initial object once (a new `data`
  // prop would reset its state, undoing what renderers set on mount).
  const [initial] = useState(() => prefillDiscriminators(schema, {}));
  const [state, setState] = useState(() => ({ data: initial, errors: [] }));
  return (
    <Paper variant="outlined" sx={{ p: 2, my: 2 }} id={id}>
      <Typography variant="h6">{title}</Typography>
      <Box sx={{ display: 'flex', gap: 3, flexWrap: 'wrap' }}>
        <Box sx={{ flex: '3 1 420px', minWidth: 0 }} data-form={id}>
          <JsonForms
            schema={schema}
            uischema={uischema}
            data={initial}
            renderers={renderers}
            cells={materialCells}
            ajv={ajv}
            config={{ showUnfocusedDescription: true }}
            validationMode="ValidateAndShow"
            onChange={({ data, errors }) => setState({ data, errors: errors || [] })}
          />
        </Box>
        <Box sx={{ flex: '2 1 300px', minWidth: 0 }}>
          <Typography variant="subtitle2">
            {file} ({state.errors.length === 0 ? 'valid' : `${state.errors.length} error(s)`})
          </Typography>
          <Box
            component="pre"
            data-json={id}
            data-errors={state.errors.length}
            sx={{ bgcolor: 'grey.100', p: 1, overflow: 'auto', fontSize: 12, maxHeight: 480 }}
          >
            {JSON.stringify(state.data ?? {}, null, 2)}
          </Box>
          <Button variant="outlined" size="small" onClick={() => save(file, state.data ?? {})}>
            Save {file}
          </Button>
          <Typography variant="caption" display="block" sx={{ mt: 1 }}>
            {hint}
          </Typography>
        </Box>
      </Box>
    </Paper>
  );
}

function App() {
  return (
    <Container maxWidth="lg">
      <Typography variant="h5" sx={{ mt: 2 }}>
        {input.connector}: config form preview
      </Typography>
      <Note>
        Rendered offline by <code>cargo xtask form {input.connector}</code> the way Estuary's dashboard
        renders endpoint config (JSONForms + Material).
        {hasOAuth(input) ? <span data-oauth-note> OAuth sign-in does not work offline.</span> : null}
      </Note>
      <Section
        id="endpoint"
        title="Endpoint config"
        schema={input.configSchema}
        file="config.json"
        hint={`Use it with: cargo xtask discover ${input.connector} --config config.json`}
      />
      {input.resourceConfigSchema ? (
        <Section
          id="resource"
          title="Resource config (of each binding)"
          schema={input.resourceConfigSchema}
          file="resource.json"
          hint="Each discovered binding carries one of these."
        />
      ) : null}
    </Container>
  );
}

createRoot(document.getElementById('root')).render(
  <ThemeProvider theme={createTheme()}>
    <CssBaseline />
    <App />
  </ThemeProvider>,
);
