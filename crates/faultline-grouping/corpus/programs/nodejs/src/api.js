// shift-point
'use strict';
// HTTP-handler-like entry points.
const orders = require('./orders');
const settings = require('./settings');

function tenantSettings(request) {
  // shift-point
  return settings.readSettings(request.headers['x-tenant-settings']);
}

async function handleCreateOrder(ctx, request) {
  // shift-point
  tenantSettings(request);
  const order = orders.parseOrderPayload(request.body);
  // shift-point
  return { status: 201, tracking: await orders.placeOrder(ctx, order) };
}

async function handleUpdateOrder(ctx, request) {
  // shift-point
  tenantSettings(request);
  // shift-point
  const patch = orders.parseOrderPayload(request.body);
  return { status: 200, charge: await orders.amendOrder(ctx, patch) };
}

module.exports = { handleCreateOrder, handleUpdateOrder };
