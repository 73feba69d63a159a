// shift-point
'use strict';
// Records the shop's bugs as corpus events: `node record.js DEPLOY SEED`.
//
// Every (bug, entry point) case runs once; the error an entry point lets
// escape is recorded as the OpenTelemetry JS SDK's recordException does:
// type = err.code ?? err.name, message = err.message, stack = err.stack.
const api = require('./src/api');
const cli = require('./src/cli');
const jobs = require('./src/jobs');

const ALL = ['api.create', 'api.update', 'job.sync', 'cli.import'];
const WITH_BODY = ['api.create', 'api.update', 'cli.import'];
const PLACING = ['api.create', 'job.sync', 'cli.import'];

// A small seeded generator so a deploy's data differs but re-recording is stable.
function rng(seedText) {
  let h = 2166136261;
  for (const c of seedText) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return {
    int(lo, hi) {
      h = Math.imul(h ^ (h >>> 15), 2246822519) + 0x6d2b79f5;
      h ^= h >>> 13;
      return lo + ((h >>> 0) % (hi - lo + 1));
    },
    hex(n) {
      let s = '';
      while (s.length < n) s += this.int(0, 15).toString(16);
      return s;
    },
  };
}

// bug id -> [entry points that reach it, how the input is broken]
const BUGS = {
  'order-json': [WITH_BODY, (o, r) => ({ body: `{"id": "${o.id}", "qty": ${r.int(1, 9)},` })],
  'settings-json': [ALL, (o, r) => ({ settings: `{'currency': '${r.int(0, 1) ? 'EUR' : 'USD'}'}` })],
  'items-json': [ALL, (o, r) => { o.items = `[{sku: 'SKU-${r.int(1, 2)}', qty: ${r.int(1, 5)}}]`; }],
  'qty-invalid': [ALL, (o, r) => { o.qty = -r.int(1, 50); }],
  'email-invalid': [ALL, (o, r) => { o.email = `user${r.int(1, 999)}.at.example.com`; }],
  'customer-missing': [ALL, (o, r) => { o.customerId = `cus_${r.int(1000, 9999)}`; }],
  'inventory-unknown-sku': [ALL, (o, r) => { o.sku = `SKU-${r.int(100, 999)}-X`; }],
  'category-cycle': [PLACING, (o, r) => { o.category = r.int(0, 1) ? 'loop-a' : 'loop-b'; }],
  'payment-gateway': [ALL, (o, r) => { o.card = { token: `tok_live_${r.hex(12)}` }; }],
  'tracking-url': [PLACING, (o, r) => { o.trackingUrl = `track/${r.hex(8)}?order=${o.id}`; }],
};

function context(r) {
  // shift-point
  const customer = `cus_${r.int(10, 99)}`;
  const ctx = {
    customers: { [customer]: { email: `${customer}@example.com` } },
    stock: new Map([['SKU-1', { available: 100 }], ['SKU-2', { available: 5 }]]),
    categories: { shoes: 'apparel', 'loop-a': 'loop-b', 'loop-b': 'loop-a' },
  };
  const order = {
    id: `${r.hex(8)}-${r.hex(4)}-4${r.hex(3)}-a${r.hex(3)}-${r.hex(12)}`,
    qty: r.int(1, 4),
    email: `${customer}@example.com`,
    customerId: customer,
    sku: r.int(0, 1) ? 'SKU-1' : 'SKU-2',
    category: 'shoes',
    amount: r.int(5, 500),
    card: { token: 'tok_test_visa' },
    trackingUrl: `https://track.example.com/p/${r.hex(10)}`,
    items: JSON.stringify([{ sku: 'SKU-1', qty: r.int(1, 3) }]),
  };
  return { ctx, order, settings: JSON.stringify({ currency: 'EUR', tenant: customer }) };
}

function run(entry, ctx, order, settingsJson, body) {
  // shift-point
  const headers = { 'x-tenant-settings': settingsJson };
  switch (entry) {
    case 'api.create':
      return api.handleCreateOrder(ctx, { headers, body });
    case 'api.update':
      return api.handleUpdateOrder(ctx, { headers, body });
    case 'job.sync':
      return jobs.nightlySync(ctx, { config: settingsJson, rows: [order] });
    default:
      return cli.importCommand(ctx, ['shop', 'import', settingsJson, body]);
  }
}

async function main() {
  // shift-point
  const [deploy, seed] = process.argv.slice(2);
  for (const [bug, [entries, breaker]] of Object.entries(BUGS)) {
    for (const entry of entries) {
      const r = rng(`${seed}/${bug}/${entry}`);
      const { ctx, order, settings } = context(r);
      const broken = breaker(order, r) || {};
      const body = broken.body ?? JSON.stringify(order);
      try {
        await run(entry, ctx, order, broken.settings ?? settings, body);
      } catch (err) {
        const event = {
          label: `nodejs/${bug}`,
          language: 'nodejs',
          type: String(err.code ?? err.name),
          message: err.message,
          stacktrace: err.stack,
          service: 'corpus-nodejs',
          entry,
          deploy,
        };
        process.stdout.write(`${JSON.stringify(event)}\n`);
        continue;
      }
      throw new Error(`${bug} via ${entry} did not fail`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
