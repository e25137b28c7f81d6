// Drives form pages written by `cargo xtask form` in headless Chromium
// (playwright-core, Debian's /usr/bin/chromium) and asserts on the DOM.
// Run by xtask/tests/full/form_browser.rs:
//   node form/test/drive.mjs CASES.json
// CASES.json: [{"name", "page": "/abs/form.html", "shots": "/abs/dir", "everything": bool, "errorsAtOnce": bool,
//               "oauth": "provider" (the connector's Flow spec has this non-empty oauth2 provider)}]
// Prints one line per check; exits 1 when any failed.
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const failures = [];
let passed = 0;
function check(name, what, ok, detail = '') {
  if (ok) {
    passed += 1;
  } else {
    failures.push(`${name}: ${what}${detail ? `: ${detail}` : ''}`);
  }
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${what}${!ok && detail ? `: ${detail}` : ''}`);
}

// The flags that work on this machine (no GPU, no sandbox, no network chatter);
// playwright gives every launch a fresh user-data-dir.
const browser = await chromium.launch({
  executablePath: process.env.ATF_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

// A field's input (text inputs: `<scope>-input`; selects: the combobox `<scope>`).
const input = (key) => `[id="#/properties/${key}-input"], [id="#/properties/${key}"][role=combobox]`;
const order = (s) =>
  Object.keys(s.properties || {})
    .map((k, i) => ({ k, i, o: typeof s.properties[k].order === 'number' ? s.properties[k].order : Infinity }))
    .filter(({ k }) => !s.properties[k]['x-hidden-field'])
    .sort((a, b) => (a.o === b.o ? a.i - b.i : a.o < b.o ? -1 : 1))
    .map(({ k }) => k);
const isConstSelect = (s) => Array.isArray(s.oneOf) && s.oneOf.every((o) => o.const !== undefined);
const isNullable = (s) => Array.isArray(s.anyOf) && s.anyOf.length === 2 && s.anyOf.some((o) => o.type === 'null');
const isGroupSchema = (s) => !!(s.properties || (((s.oneOf && !isConstSelect(s)) || s.anyOf) && s.title && !isNullable(s)));

/** Where the schema asks for a sign-in button: top-level properties carrying
 * `x-oauth2-provider`, or carrying it on one of their oneOf options. */
function oauthSites(schema) {
  const sites = [];
  for (const [key, s] of Object.entries(schema.properties || {})) {
    if (s['x-oauth2-provider']) sites.push({ key, provider: s['x-oauth2-provider'], option: null });
    for (const o of s.oneOf || []) {
      if (o && o['x-oauth2-provider']) sites.push({ key, provider: o['x-oauth2-provider'], option: o.title || null });
    }
  }
  return sites;
}

/** Polls `f` until it returns true or 3 s pass (React renders asynchronously). */
async function eventually(f) {
  for (let i = 0; i < 30; i += 1) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function endpointData(page) {
  return JSON.parse(await page.locator('[data-json="endpoint"]').textContent());
}

for (const c of cases) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const requests = [];
  page.on('request', (r) => !r.url().startsWith('file:') && !r.url().startsWith('blob:') && !r.url().startsWith('data:') && requests.push(r.url()));
  await page.goto(`file://${c.page}`);
  await page.locator('[data-form="endpoint"]').waitFor();
  const data = JSON.parse(await page.locator('#atf-data').textContent());
  const schema = data.configSchema;
  const props = schema.properties || {};
  const required = new Set(schema.required || []);

  check(c.name, 'renders without page errors', errors.length === 0, errors.join(' | '));
  check(c.name, 'needs no network', requests.length === 0, requests.join(' '));
  check(c.name, 'no unrendered field', (await page.getByText('No applicable renderer found').count()) === 0);

  // Plain top-level fields, in display order.
  const keys = order(schema);
  const plain = keys.filter((k) => !isGroupSchema(props[k]));
  const ys = [];
  const form = page.locator('[data-form="endpoint"]');
  for (const k of plain) {
    let el = page.locator(input(k)).first();
    // A nullable field is rendered for its inner type at the same path.
    if ((await el.count()) === 0 && props[k].title) el = form.getByLabel(props[k].title, { exact: true }).first();
    if ((await el.count()) === 0) continue;
    const box = await el.boundingBox();
    if (box) ys.push([k, box.y]);
  }
  check(c.name, `plain fields in order (${ys.map(([k]) => k).join(', ')})`, ys.every(([, y], i) => i === 0 || y > ys[i - 1][1]), JSON.stringify(ys));
  // A required (expanded) group keeps its `order` place among the plain fields.
  const inline = keys.filter((k) => !isGroupSchema(props[k]) || (required.has(k) && !props[k].advanced));
  const placed = [];
  for (const k of inline) {
    const el = isGroupSchema(props[k])
      ? page.locator(`[data-group="${props[k].title || k}"]`).first()
      : ys.some(([p]) => p === k) ? page.locator(input(k)).first() : null;
    if (!el || (await el.count()) === 0) continue;
    const box = await el.boundingBox();
    if (box) placed.push([k, box.y]);
  }
  if (inline.some((k) => isGroupSchema(props[k]))) {
    check(c.name, `required groups in their order place (${placed.map(([k]) => k).join(', ')})`, placed.every(([, y], i) => i === 0 || y > placed[i - 1][1]), JSON.stringify(placed));
  }
  // A secret keeps its description while it is empty (and required: its
  // message shows beside it); one without a description shows no odd text.
  for (const k of plain.filter((k) => props[k].secret || props[k].airbyte_secret)) {
    const helper = page.locator(`[id="#/properties/${k}-input-helper-text"]`);
    const text = (await helper.count()) > 0 ? await helper.first().textContent() : '';
    const description = props[k].description || '';
    if (description) {
      check(c.name, `empty secret ${k} shows its description`, text.includes(description.slice(0, 40)), text);
    }
    check(c.name, `secret ${k} helper text has nothing odd`, !/undefined|null|\[object/.test(text), text);
  }

  check(c.name, 'every plain field has an input', ys.length >= plain.filter((k) => props[k].type !== 'boolean' && props[k].type !== 'array').length, `${ys.length} of ${plain.length}`);
  for (const k of plain.filter((k) => props[k].secret)) {
    check(c.name, `secret ${k} is a password input`, (await page.locator(input(k)).getAttribute('type')) === 'password');
  }

  // Groups: collapsed unless required at the root (and not advanced).
  for (const k of keys.filter((k) => isGroupSchema(props[k]))) {
    const title = props[k].title || k;
    const group = page.locator(`[data-group="${title}"]`).first();
    const expanded = required.has(k) && !props[k].advanced;
    const summary = group.locator('[aria-expanded]').first();
    check(c.name, `group "${title}" ${expanded ? 'expanded' : 'collapsed'}`, (await summary.getAttribute('aria-expanded')) === String(expanded));
    if (!expanded) {
      const visibleInputs = await group.locator('input:visible, textarea:visible').count();
      check(c.name, `collapsed group "${title}" hides its inputs`, visibleInputs === 0, `${visibleInputs} visible`);
    }
  }

  // Defaults of top-level plain fields are in the data.
  const d = await endpointData(page);
  for (const k of plain.filter((k) => props[k].default !== undefined)) {
    check(c.name, `default of ${k} in the data`, JSON.stringify(d[k]) === JSON.stringify(props[k].default), JSON.stringify(d[k]));
  }
  if (c.errorsAtOnce) {
    // e.g. the file connector's object `provider` with default "Public Web".
    const n = Number(await page.locator('[data-json="endpoint"]').getAttribute('data-errors'));
    check(c.name, 'a default of the wrong type is an error before any input', n > 0 && JSON.stringify(d).includes('"Public Web"'), `${n} errors`);
  }
  check(c.name, 'resource config form', (await page.locator('[data-form="resource"] input').count()) > 0);

  if (c.everything) {
    // The schema of our own that exercises every behaviour.
    const n = c.name;
    check(n, 'HTML in a description is literal text', (await page.getByText('see <b>bold</b> docs').count()) === 1);
    check(n, 'hidden field not shown', (await page.locator(input('internal_id')).count()) === 0);
    check(n, 'multiline is a textarea', (await page.locator(`textarea${input('notes')}`).count()) === 1);
    check(n, 'multiline secret: password + file upload', (await page.locator(input('private_key')).getAttribute('type')) === 'password' && (await page.locator('input[type=file][data-upload-for="private_key"]').count()) === 1);
    check(n, 'const + title oneOf is a select', (await page.locator('[id="#/properties/region"][role=combobox]').count()) === 1);
    check(n, 'nullable anyOf is one input', (await form.getByLabel('Maybe', { exact: true }).count()) === 1);
    check(n, 'unordered field last', ys.length > 0 && ys[ys.length - 1][0] === 'unordered', JSON.stringify(ys.map(([k]) => k)));
    check(n, 'nested fields ordered (host before port)', (await page.locator('[id="#/properties/connection/properties/host-input"]').boundingBox()).y < (await page.locator('[id="#/properties/connection/properties/port-input"]').boundingBox()).y);
    await page.locator('[id="#/properties/connection/properties/host-input"]').fill('db.example.com');
    const conn = async () => (await endpointData(page)).connection;
    check(n, 'nested default in the data once its object exists', await eventually(async () => (await conn())?.port === 5432 && (await conn())?.host === 'db.example.com'), JSON.stringify(await conn()));

    // Discriminated oneOf: tabs, discriminator hidden and set.
    const creds = page.locator('[data-discriminator="auth_type"]');
    check(n, 'discriminator tabs', (await creds.getByRole('tab').allTextContents()).join('|') === 'Access Token|Username and Password');
    check(n, 'discriminator field hidden', (await creds.locator('[id*="auth_type"]').count()) === 0);
    check(n, 'discriminator set to the first option', await eventually(async () => (await endpointData(page)).credentials?.auth_type === 'token'), JSON.stringify((await endpointData(page)).credentials));
    check(n, 'option secret is a password input', (await creds.locator('input[type=password]').count()) === 1);
    await creds.getByRole('tab', { name: 'Username and Password' }).click();
    check(n, 'choosing a tab sets the discriminator', await eventually(async () => (await endpointData(page)).credentials?.auth_type === 'basic'), JSON.stringify((await endpointData(page)).credentials));
    check(n, 'the chosen option shows its fields', (await creds.getByLabel('Username').count()) === 1);

    // Without a discriminator: JSONForms' own tabs.
    const mode = page.locator('[data-group="Mode"]');
    await mode.locator('[aria-expanded]').first().click();
    check(n, 'oneOf without discriminator: tabs', (await mode.getByRole('tab').count()) === 2);

    // Advanced group starts collapsed; opening it shows its inputs.
    const tuning = page.locator('[data-group="Tuning"]');
    check(n, 'advanced group collapsed', (await tuning.locator('input:visible').count()) === 0);
    await tuning.locator('[aria-expanded]').first().click();
    await tuning.locator('input').first().waitFor({ state: 'visible' });
    check(n, 'opened group shows its inputs', (await tuning.locator('input:visible').count()) === 1);

    // OAuth: a sign-in button in place of the fields.
    const google = page.locator('[data-group="Google account"]');
    await google.locator('[aria-expanded]').first().click();
    check(n, 'OAuth sign-in button', (await google.getByRole('button', { name: 'Sign in with google' }).count()) === 1);
    check(n, 'OAuth fields replaced', (await google.locator('input').count()) === 0);

    // Live validation as the user types.
    check(n, 'no error before typing', (await page.getByText('must be >= 1').count()) === 0);
    await page.locator(input('count')).fill('0');
    await page.getByText('must be >= 1').first().waitFor({ timeout: 5000 }).catch(() => {});
    check(n, 'validation message after bad input', (await page.getByText('must be >= 1').count()) >= 1);
    check(n, 'error count beside the form', Number(await page.locator('[data-json="endpoint"]').getAttribute('data-errors')) > 0);
    await page.locator(input('api_key')).fill('s3cret');
    check(n, 'typed value in the config JSON', await eventually(async () => (await endpointData(page)).api_key === 's3cret'));
  }

  // OAuth: a sign-in button wherever the schema carries a provider, on a
  // property or on an option of a choice; the offline note only then.
  const sites = oauthSites(schema);
  const hasOauth = (!!data.oauth2 && !!data.oauth2.provider) || sites.length > 0;
  check(c.name, `offline OAuth note ${hasOauth ? 'shown' : 'absent'}`, (await page.locator('[data-oauth-note]').count()) === (hasOauth ? 1 : 0));
  if (c.oauth) {
    check(c.name, `the schema carries x-oauth2-provider "${c.oauth}" (a property or an option)`, sites.some((x) => x.provider === c.oauth), JSON.stringify(sites));
  }
  for (const site of sites) {
    const s = props[site.key];
    const title = s.title || site.key;
    const group = page.locator(`[data-group="${title}"]`).first();
    const scope = (await group.count()) > 0 ? group : form;
    if ((await group.count()) > 0 && (await group.locator('[aria-expanded]').first().getAttribute('aria-expanded')) === 'false') {
      await group.locator('[aria-expanded]').first().click();
    }
    if (site.option) {
      await scope.getByRole('tab', { name: site.option, exact: true }).first().click();
    }
    const button = scope.getByRole('button', { name: `Sign in with ${site.provider}` });
    const shown = await eventually(async () => (await button.count()) === 1 && (await button.first().isVisible()));
    check(c.name, `sign-in button for ${site.key}${site.option ? ` option "${site.option}"` : ''} (${site.provider})`, shown);
    if (site.option) {
      const d = await endpointData(page);
      const tagProp = s.discriminator && s.discriminator.propertyName;
      const option = s.oneOf.find((o) => o.title === site.option);
      const tag = tagProp && option.properties && option.properties[tagProp] && option.properties[tagProp].const;
      if (tag !== undefined) {
        check(c.name, `the OAuth option sets ${site.key}.${tagProp}`, await eventually(async () => (await endpointData(page))[site.key]?.[tagProp] === tag), JSON.stringify(d[site.key]));
      }
    }
  }

  await page.screenshot({ path: join(c.shots, `${c.name}.png`), fullPage: true });
  await context.close();
}
await browser.close();
console.log(`${passed} checks passed, ${failures.length} failed`);
if (failures.length) {
  console.log(failures.join('\n'));
  process.exit(1);
}
