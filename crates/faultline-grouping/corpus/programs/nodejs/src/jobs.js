// shift-point
'use strict';
// A background job: nightly order sync.
const { placeOrder } = require('./orders');
const settings = require('./settings');

async function syncRow(ctx, row) {
  // shift-point
  return placeOrder(ctx, row);
}

async function nightlySync(ctx, batch) {
  // shift-point
  settings.readSettings(batch.config);
  const results = [];
  for (const row of batch.rows) {
    // shift-point
    results.push(await syncRow(ctx, row));
  }
  return results;
}

module.exports = { nightlySync };
