// shift-point
'use strict';
// A command-line entry point: `shop import SETTINGS_JSON ORDER_JSON`.
// Destructured imports: V8 then names frames `placeOrder`, not `Object.placeOrder`.
const { parseOrderPayload, placeOrder } = require('./orders');
const { readSettings } = require('./settings');

async function importCommand(ctx, argv) {
  // shift-point
  const [, , settingsJson, orderJson] = argv;
  readSettings(settingsJson);
  // shift-point
  const order = parseOrderPayload(orderJson);
  // shift-point
  return placeOrder(ctx, order);
}

module.exports = { importCommand };
